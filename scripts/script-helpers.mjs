// Small helpers shared by the test scripts (test-all.mjs, run-tests.mjs).
import { readFileSync } from 'node:fs';

/** A JSON file's content, or undefined while it is missing or half-written. */
export function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Sends a signal to every process of a group started with `detached: true`; a gone group is fine. */
export function signalGroup(leaderPid, signal) {
  try {
    process.kill(-leaderPid, signal);
  } catch {
    // the group is gone
  }
}

/** SIGTERM to a group, then SIGKILL to whatever of it is left `graceMs` later. */
export function stopGroup(leaderPid, graceMs) {
  signalGroup(leaderPid, 'SIGTERM');
  setTimeout(() => signalGroup(leaderPid, 'SIGKILL'), graceMs).unref();
}
