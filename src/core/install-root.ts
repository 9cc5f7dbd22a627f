/**
 * Where this installation's files live (profiles/, sandbox-bin/, the kmd entry point), found
 * from this module's own URL. From source it is `src/core/install-root.ts`; in the bundled
 * build (`dist/`, scripts/build.ts) every module is a file directly under `dist/`, and the
 * build defines `KM_BUNDLED` so the same code finds the same root.
 */
import { fileURLToPath } from 'node:url';

declare const KM_BUNDLED: boolean | undefined;
declare const KM_BUILD_ID: string | undefined;

/** True when running from the bundled build in `dist/`. */
export const IS_BUNDLED: boolean = typeof KM_BUNDLED !== 'undefined' && KM_BUNDLED === true;

/** The installation's root directory, with a trailing slash. */
export const INSTALL_ROOT: string = fileURLToPath(new URL(IS_BUNDLED ? '../' : '../../', import.meta.url));

/** The file to run for an entry point (`km`, `kmd`) in this build. */
export const entryPoint = (name: 'km' | 'kmd'): string => (IS_BUNDLED ? `${INSTALL_ROOT}dist/${name}.mjs` : `${INSTALL_ROOT}src/bin/${name}.ts`);

/** A value unique to each bundled build (null when running from source). */
export const BUILD_ID: string | null = typeof KM_BUILD_ID === 'string' ? KM_BUILD_ID : null;
