// Impossible value combinations stop rendering with a message that names the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from './render';

function failure(scenario: string, setJson: string[]): string {
  const result = render({ scenarios: [scenario], setJson });
  assert.notEqual(result.status, 0, `rendered despite ${setJson.join(' ')}`);
  return result.stderr;
}

describe('impossible combinations', () => {
  it('refuses an mTLS host without a CA Secret', () => {
    const stderr = failure('minimal', ['ingress.clientCertificate.caSecret=""']);
    assert.match(
      stderr,
      /ingress\.hosts\.mtls is "mtls\.as\.obip\.test" but ingress\.clientCertificate\.caSecret is empty/,
    );
    assert.match(stderr, /Fix: create a Secret with the trust bundle in key ca\.crt/);
  });

  it('accepts no mTLS host without a CA Secret', () => {
    const result = render({
      scenarios: ['minimal'],
      setJson: ['ingress.clientCertificate.caSecret=""', 'ingress.hosts.mtls=""'],
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('refuses an HPA whose minimum is above its maximum', () => {
    const stderr = failure('hpa', ['dcrService.autoscaling.minReplicas=5', 'dcrService.autoscaling.maxReplicas=3']);
    assert.match(
      stderr,
      /dcrService\.autoscaling\.minReplicas \(5\) is above dcrService\.autoscaling\.maxReplicas \(3\)/,
    );
    assert.match(stderr, /Fix: raise maxReplicas or lower minReplicas/);
  });

  it('refuses the bundled stores with the production profile', () => {
    const stderr = failure('minimal', ['profile="production"']);
    assert.match(stderr, /mongodb\.bundled\.enabled is true with profile=production/);
    assert.match(stderr, /redis\.bundled\.enabled is true with profile=production/);
    assert.match(stderr, /Fix: point mongodb\.existingSecret at a Secret/);
  });

  it('refuses an install without any store', () => {
    const stderr = failure('minimal', ['mongodb.bundled.enabled=false']);
    assert.match(stderr, /no mongodb: mongodb\.existingSecret is empty and mongodb\.bundled\.enabled is false/);
  });

  it('refuses a header format that ingress-nginx cannot send', () => {
    const stderr = failure('minimal', ['ingress.clientCertificate.headerFormat="xfcc"']);
    assert.match(stderr, /ingress-nginx sends the certificate in ssl-client-cert/);
  });

  it("refuses profile=production without an existing Secret for config-api's key-encryption key", () => {
    const stderr = failure('production', ['configApi.keyEncryptionKey.existingSecret=""']);
    assert.match(stderr, /configApi\.keyEncryptionKey\.existingSecret is empty with profile=production/);
    assert.match(
      stderr,
      /Fix: kubectl -n obip create secret generic obip-config-api-kek --from-literal=key-encryption-key=/,
    );
  });

  it("refuses profile=production without an existing Secret for auth-server's session keys", () => {
    const stderr = failure('production', ['authServer.sessionKeys.existingSecret=""']);
    assert.match(stderr, /authServer\.sessionKeys\.existingSecret is empty with profile=production/);
    assert.match(
      stderr,
      /Fix: kubectl -n obip create secret generic obip-auth-session --from-literal=cookie-keys=.* --from-literal=dpop-nonce-secret=.*, and set authServer\.sessionKeys\.existingSecret=obip-auth-session/,
    );
  });

  it('refuses cookie keys or a DPoP nonce secret in authServer.env, which the session-keys Secret provides', () => {
    for (const variable of ['COOKIE_KEYS', 'COOKIE_KEYS_FILE', 'DPOP_NONCE_SECRET']) {
      const stderr = failure('minimal', [`authServer.env=[{"name":"${variable}","value":"x"}]`]);
      assert.match(stderr, new RegExp(`authServer\\.env sets ${variable}, which the chart gives auth-server`));
      assert.match(stderr, new RegExp(`Fix: remove ${variable} from authServer\\.env`));
    }
  });

  it('generates the key-encryption key outside production', () => {
    const result = render({ scenarios: ['minimal'] });
    assert.equal(result.status, 0, result.stderr);
  });

  it('refuses a trust bundle Secret outside the namespace config-api writes in', () => {
    const stderr = failure('production', ['ingress.clientCertificate.caSecretNamespace="ingress-nginx"']);
    assert.match(
      stderr,
      /ingress\.clientCertificate\.caSecretNamespace is "ingress-nginx" but config-api writes the trust bundle/,
    );
    assert.match(stderr, /Fix: create the Secret in "obip" and leave caSecretNamespace empty/);
    const unsynced = render({
      scenarios: ['production'],
      setJson: ['ingress.clientCertificate.caSecretNamespace="ingress-nginx"', 'configApi.kubernetesSync="off"'],
    });
    assert.equal(unsynced.status, 0, unsynced.stderr);
  });

  it('refuses two different names for the signing-key Secret', () => {
    const stderr = failure('production', ['signingKeys.existingSecret="other-keys"']);
    assert.match(
      stderr,
      /signingKeys\.secretName is "obip-signing-keys" and the deprecated signingKeys\.existingSecret is "other-keys"/,
    );
  });

  it('refuses a production install without a public host, which is the issuer', () => {
    const stderr = failure('production', ['ingress.provider="none"', 'ingress.hosts.public=""']);
    assert.match(stderr, /ingress\.hosts\.public is empty with profile=production and ingress\.provider=none/);
  });

  it('refuses unknown values and values outside their enum (strict schema)', () => {
    assert.match(failure('minimal', ['authServer.replicas=2']), /replicas/);
    assert.match(failure('minimal', ['ingress.provider="haproxy"']), /provider/);
    assert.match(failure('minimal', ['ingress.clientCertificate.verifyClient="optional"']), /verifyClient/);
    assert.match(failure('minimal', ['configApi.kubernetesSync="auto"']), /kubernetesSync/);
    // The Job that generated keys is gone, and config-api writes the key jwks.json only.
    assert.match(failure('minimal', ['signingKeys.secretKey="keys.json"']), /secretKey/);
    assert.match(failure('minimal', ['configApi.keys.retirementDelaySeconds=-1']), /retirementDelaySeconds/);
  });
});
