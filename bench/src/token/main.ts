// bench:token — the endpoint scenario command (../auth-server/command.ts) for client_credentials
// with private_key_jwt: each target must issue a real token before it is measured.
import { runEndpointCommand } from '../auth-server/command';
import { checkTokenTargets } from './report';
import { checkTokenAnswers, startTokenTargets } from './targets';

await runEndpointCommand({
  scenario: 'token',
  title: 'token endpoint',
  answered: 'every target issues a certificate-bound token',
  start: startTokenTargets,
  checkAnswers: checkTokenAnswers,
  checkTargets: checkTokenTargets,
});
