import { CollectorError } from '../errors';
import { layoutFor, type LakeLayout, type LayoutName } from './layout';
import type { LakeStore } from './store/lake-store';
import { LocalStore } from './store/local';

/**
 * The lake: where its bytes live (the store, rooted at OUTPUT_DIR) and how its keys are laid out.
 * Every module that reads or writes the lake is given this one value.
 */
export interface Lake {
  readonly store: LakeStore;
  readonly layout: LakeLayout;
}

const OBJECT_STORE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The store at OUTPUT_DIR: a folder. */
export function storeAt(location: string): LakeStore {
  if (OBJECT_STORE_URL.test(location)) {
    throw new CollectorError('CONFIG_INVALID', `OUTPUT_DIR ${location} is a URL: object storage is not supported by this version; give a folder`, { context: { location } });
  }
  return new LocalStore(location);
}

/** The lake at OUTPUT_DIR with the configured layout. */
export function lakeAt(location: string, layout: LayoutName): Lake {
  return { store: storeAt(location), layout: layoutFor(layout) };
}

/** Where a key of the lake is, for people: a path under OUTPUT_DIR, or an object's URL. */
export function locationOf(lake: Lake, key: string): string {
  return `${lake.store.location.replace(/\/+$/, '')}/${key}`;
}
