// bench:par — the endpoint scenario command (../auth-server/command.ts) for PAR with a signed
// request object: each target must take a real pushed request before it is measured.
import { runEndpointCommand } from '../auth-server/command';
import { checkParTargets } from './report';
import { checkParAnswers, startParTargets } from './targets';

await runEndpointCommand({
  scenario: 'par',
  title: 'PAR',
  answered: 'every target takes a pushed request',
  start: startParTargets,
  checkAnswers: checkParAnswers,
  checkTargets: checkParTargets,
});
