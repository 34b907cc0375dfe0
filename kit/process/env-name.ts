/**
 * Every environment variable name patchbay builds from a name it is given (a subgraph, a
 * provider, a client): in capitals, anything but letters and digits as `_`, so that
 * `user-profiles` reads `USER_PROFILES_PORT` wherever the name comes from.
 */
export const envName = (...parts: string[]) =>
  parts
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_');
