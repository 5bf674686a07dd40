/** troupe's version (package.json's), for `--version` and the OpenRPC document. */
export const version = "0.1.0"
