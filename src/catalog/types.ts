/**
 * Catalogers turn files into packages and relationships (ARCHITECTURE habit 1 and 3): each one is
 * a plain descriptor in a list, says which files it needs, and gets only those.
 */
import type { IssueLog } from '../core/issues.js';
import type { TargetKind } from '../image/types.js';
import type { ImageFilesystem } from '../layers/filesystem.js';
import type { FileMeta, FileSelector } from '../layers/types.js';
import type { Distro, Location, Package, Relationship } from '../model/package.js';

export type CatalogerTag = 'os' | 'language' | 'binary' | 'installed' | 'declared' | 'image' | 'directory' | 'sbom';

export interface CatalogContext {
  fs: ImageFilesystem;
  /** the distribution, detected before any cataloger runs */
  distro?: Distro;
  issues: IssueLog;
  targetKind: TargetKind;
  /** the files this cataloger's selector matched, present in the squashed view, sorted by path */
  files(): FileMeta[];
  /** the content of a selected file (symlinks resolved inside the image root), undefined when not kept */
  read(path: string): Promise<Buffer | undefined>;
  /**
   * Bytes [offset, offset + length) of the same content as read(path), without loading the rest
   * (fewer at its end); undefined when not kept. The size is that of the entry files() lists.
   * Optional: where a context does not offer it, binary catalogers fall back to read().
   */
  readRange?(path: string, offset: number, length: number): Promise<Buffer | undefined>;
  /** a Location for a path of the squashed view, with its layer digest */
  locate(path: string, role?: Location['role']): Location;
  /**
   * Which of `paths` (absolute, normal) the OS packages cataloged before this cataloger list as
   * their files (OS catalogers run first). Optional: a context without it owns nothing.
   */
  ownedByOsPackages?(paths: readonly string[]): Set<string>;
}

export interface CatalogerResult {
  packages: Package[];
  relationships?: Relationship[];
}

export interface Cataloger {
  /** stable name, used by --catalogers +name,-name and as the selector id */
  name: string;
  /** bump when parsing changes: goes into the layer-cache key */
  version: string;
  tags: CatalogerTag[];
  /** the files it needs (id and version are filled in from name and version) */
  selector: Omit<FileSelector, 'id' | 'version'>;
  catalog(ctx: CatalogContext): Promise<CatalogerResult>;
}

export function selectorOf(c: Cataloger): FileSelector {
  return { id: c.name, version: c.version, ...c.selector };
}
