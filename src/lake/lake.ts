import { CollectorError } from '../errors';
import type { CollectorConfig } from '../config/schema';
import { layoutFor, type LakeLayout } from './layout';
import type { LakeStore } from './store/lake-store';
import { LocalStore } from './store/local';
import { S3LakeStore } from './store/s3';
import type { S3Settings } from './store/s3-config';

/**
 * The lake: where its bytes live (the store, rooted at OUTPUT_DIR) and how its keys are laid out.
 * Every module that reads or writes the lake is given this one value.
 */
export interface Lake {
  readonly store: LakeStore;
  readonly layout: LakeLayout;
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The store at OUTPUT_DIR: a folder, or `s3://bucket/prefix` (with the S3 settings). */
export function storeAt(location: string, s3: S3Settings): LakeStore {
  const scheme = URL_SCHEME.exec(location)?.[1].toLowerCase();
  if (scheme === 's3') return new S3LakeStore({ url: location, settings: s3 });
  if (scheme !== undefined) {
    throw new CollectorError('CONFIG_INVALID', `OUTPUT_DIR ${location} is a URL of a store the collector cannot write to: give a folder or s3://bucket/prefix`, { context: { location } });
  }
  return new LocalStore(location);
}

/** The lake at OUTPUT_DIR with the configured layout. */
export function lakeAt(config: Pick<CollectorConfig, 'output' | 'lake' | 's3'>): Lake {
  return { store: storeAt(config.output.dir, config.s3), layout: layoutFor(config.lake.layout) };
}

/** Where a key of the lake is, for people: a path under OUTPUT_DIR, or an object's URL. */
export function locationOf(lake: Lake, key: string): string {
  return `${lake.store.location.replace(/\/+$/, '')}/${key}`;
}
