import type { RequestHandler } from 'express';
import type { ClientCertificate, ClientCertificateReader } from './client-certificate';

// Express 5's Request type is declared in express-serve-static-core; augmenting it there adds
// the property for every service that imports express.
declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `clientCertificate(reader)`: the forwarded certificate, undefined when none was presented. */
    clientCertificate?: ClientCertificate;
  }
}

/**
 * Express middleware that reads the forwarded client certificate into `req.clientCertificate`
 * and passes an untrustworthy one to the error handler (401 `invalid_client`). Mount it only
 * on the mTLS host's routers.
 *
 * @example
 * const mtls = express.Router();
 * mtls.use(clientCertificate(createClientCertificateReader({ format: 'nginx' })));
 */
export function clientCertificate(reader: ClientCertificateReader): RequestHandler {
  return function readClientCertificate(req, _res, next) {
    try {
      req.clientCertificate = reader(req);
      next();
    } catch (error) {
      next(error);
    }
  };
}
