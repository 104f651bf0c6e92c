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

  it('refuses unknown values and values outside their enum (strict schema)', () => {
    assert.match(failure('minimal', ['authServer.replicas=2']), /replicas/);
    assert.match(failure('minimal', ['ingress.provider="haproxy"']), /provider/);
    assert.match(failure('minimal', ['ingress.clientCertificate.verifyClient="optional"']), /verifyClient/);
  });
});
