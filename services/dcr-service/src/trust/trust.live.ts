// The trust dcr-service checks registrations against (software-statement directories, CAs of
// transport certificates), held so that the platform config config-api publishes can replace it
// while the service runs (issue 8). The environment gives the start value.
import { X509Certificate } from 'node:crypto';
import type { PlatformConfig } from '@obip/platform-config';
import type { RegistrationTrust, TrustedDirectory } from '../registration/registration.rules';

/** What the environment says about trust, and whether its CAs outrank published ones. */
export interface EnvironmentTrust extends RegistrationTrust {
  /** DCR_TRUSTED_CA_FILE is set: its CAs stay in force whatever trust anchors are published. */
  casFromFile: boolean;
}

/** The trust in force, replaced whole by each platform config version. */
export interface LiveTrust {
  /** The trust in force; a request reads it once. */
  current(): RegistrationTrust;
  /** The platform config version the trust came from; undefined while the environment's applies. */
  version(): number | undefined;
  /** Puts `trust` in force and returns the directories that stopped being trusted as they were. */
  replace(trust: RegistrationTrust, version: number): TrustedDirectory[];
}

/**
 * The trust a platform config gives: its active directories (a disabled one is not trusted), and
 * its trust anchors as the CAs of transport certificates unless DCR_TRUSTED_CA_FILE is set, which
 * takes precedence. While config-api holds no directory at all (a fresh install), the
 * environment's DCR_TRUSTED_DIRECTORIES stay in force: subscribing must not lock every TPP out
 * before an admin has configured anything. Throws when a trust anchor's PEM cannot be parsed, so
 * that the subscriber keeps the version in force.
 *
 * @example
 * const trust = trustFromPlatformConfig(config, { directories: [], trustedCas: [], casFromFile: false });
 * trust.directories; // [{ issuer, jwksUri, environment }] of the active directories
 */
export function trustFromPlatformConfig(config: PlatformConfig, environment: EnvironmentTrust): RegistrationTrust {
  return {
    directories:
      config.directories.length === 0
        ? environment.directories
        : config.directories
            .filter((directory) => directory.status === 'active')
            .map(({ issuer, jwksUri, environment: directoryEnvironment }) => ({
              issuer,
              jwksUri,
              environment: directoryEnvironment,
            })),
    trustedCas:
      environment.casFromFile || config.trustAnchors.length === 0
        ? environment.trustedCas
        : config.trustAnchors.map((anchor) => new X509Certificate(anchor.pem)),
  };
}

/**
 * The directories of `before` that `after` no longer trusts as they were: removed, disabled, or
 * given another key set URL. Their cached key sets are dropped, so keys fetched while they were
 * trusted are never used again.
 *
 * @example
 * withdrawnDirectories([a, b], [b]); // [a]
 */
export function withdrawnDirectories(
  before: readonly TrustedDirectory[],
  after: readonly TrustedDirectory[],
): TrustedDirectory[] {
  return before.filter(
    (directory) => !after.some((kept) => kept.issuer === directory.issuer && kept.jwksUri === directory.jwksUri),
  );
}

/**
 * Holds the trust in force, starting from the environment's.
 *
 * @example
 * const trust = createLiveTrust(environmentTrust);
 * const withdrawn = trust.replace(trustFromPlatformConfig(config, environmentTrust), version);
 * for (const directory of withdrawn) keys.forget(directory.jwksUri);
 */
export function createLiveTrust(initial: RegistrationTrust): LiveTrust {
  let trust: RegistrationTrust = { directories: [...initial.directories], trustedCas: [...initial.trustedCas] };
  let version: number | undefined;
  return {
    current: () => trust,
    version: () => version,
    replace(next, nextVersion) {
      const withdrawn = withdrawnDirectories(trust.directories, next.directories);
      trust = { directories: [...next.directories], trustedCas: [...next.trustedCas] };
      version = nextVersion;
      return withdrawn;
    },
  };
}
