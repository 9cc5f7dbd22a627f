import pkg from '../../package.json' with { type: 'json' };

export const KM_VERSION: string = pkg.version;
