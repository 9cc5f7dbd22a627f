export * from './errors.ts';
export * from './duration.ts';
export * from './clock.ts';
export * from './ids.ts';
export * from './yaml-doc.ts';
export * from './diagnostics.ts';
export * from './printable.ts';
