/**
 * Turning a path in the merged profile into `file:line:col` in the file that wrote it
 * (SPEC §1.5), with `inheritedBy` naming the leaf when that file is a parent.
 */
import { formatPath, type Diagnostic, type PathSegment, type Severity } from '../core/diagnostics.ts';
import type { YamlSource } from '../core/yaml-doc.ts';
import { originOf, type OriginMap } from './merge.ts';

export interface Locator {
  diag(path: readonly PathSegment[], message: string, options?: { severity?: Severity; atKey?: boolean }): Diagnostic;
}

export function createLocator(sources: readonly YamlSource[], origins: OriginMap, leafFile: string): Locator {
  return {
    diag(path, message, options = {}) {
      const found = originOf(origins, path);
      const layer = found?.origin.layer ?? sources.length - 1;
      const source = sources[layer] as YamlSource;
      const inner = found ? [...found.origin.path, ...found.rest] : [...path];
      const pos = options.atKey ? source.locateKey(inner) : source.locate(inner);
      const d: Diagnostic = {
        file: source.file,
        line: pos.line,
        col: pos.col,
        path: formatPath(path),
        message,
        severity: options.severity ?? 'error',
      };
      if (source.file !== leafFile) d.inheritedBy = leafFile;
      return d;
    },
  };
}

/** A located diagnostic inside one file (no merging involved). */
export function diagIn(source: YamlSource, path: readonly PathSegment[], message: string, severity: Severity = 'error', inheritedBy?: string): Diagnostic {
  const pos = source.locate(path);
  const d: Diagnostic = { file: source.file, line: pos.line, col: pos.col, path: formatPath(path), message, severity };
  if (inheritedBy !== undefined && inheritedBy !== source.file) d.inheritedBy = inheritedBy;
  return d;
}
