import { randomBytes } from 'node:crypto';

/** Unique per process start: file names never clash across restarts or instances sharing a lake. */
export function newInstanceId(): string {
  return randomBytes(4).toString('hex');
}
