'use strict';
// RetsError: every failure the engine reports, with a stable `code` derived from the C ABI's
// status name (RETS_STATUS_ACCESS_DENIED -> ERR_RETS_ACCESS_DENIED) and the engine's message.

class RetsError extends Error {
  /**
   * @param {string} message the engine's message
   * @param {string} code e.g. 'ERR_RETS_NO_TABLE'
   * @param {number} status the C ABI's rets_status value
   */
  constructor(message, code, status) {
    super(message);
    this.name = 'RetsError';
    this.code = code;
    this.status = status;
  }
}

// The codes JavaScript can meet (END_OF_TABLE, NOT_FOUND and TIMEOUT are ordinary outcomes,
// returned as undefined, never thrown).
const codes = Object.freeze({
  NULL_ARGUMENT: 'ERR_RETS_NULL_ARGUMENT',
  INVALID_ARGUMENT: 'ERR_RETS_INVALID_ARGUMENT',
  NO_TABLE: 'ERR_RETS_NO_TABLE',
  OWNER_CLOSED: 'ERR_RETS_OWNER_CLOSED',
  ACCESS_DENIED: 'ERR_RETS_ACCESS_DENIED',
  NOT_OWNER: 'ERR_RETS_NOT_OWNER',
  MALFORMED: 'ERR_RETS_MALFORMED',
  UNSUPPORTED_TERM: 'ERR_RETS_UNSUPPORTED_TERM',
  LIMIT_EXCEEDED: 'ERR_RETS_LIMIT_EXCEEDED',
  NOT_AN_ARRAY: 'ERR_RETS_NOT_AN_ARRAY',
  OBJECT_TOO_SHORT: 'ERR_RETS_OBJECT_TOO_SHORT',
  KEY_NOT_FOUND: 'ERR_RETS_KEY_NOT_FOUND',
  BAD_POSITION: 'ERR_RETS_BAD_POSITION',
  KEY_POSITION: 'ERR_RETS_KEY_POSITION',
  WRONG_TABLE_TYPE: 'ERR_RETS_WRONG_TABLE_TYPE',
  NOT_AN_INTEGER: 'ERR_RETS_NOT_AN_INTEGER',
  OVERFLOW: 'ERR_RETS_OVERFLOW',
  LOAD_FAILED: 'ERR_RETS_LOAD_FAILED',
  NAME_TAKEN: 'ERR_RETS_NAME_TAKEN',
  TABLE_FULL: 'ERR_RETS_TABLE_FULL',
  BAD_FILE: 'ERR_RETS_BAD_FILE',
  IO: 'ERR_RETS_IO',
  BAD_MATCH_SPEC: 'ERR_RETS_BAD_MATCH_SPEC',
  PANIC: 'ERR_RETS_PANIC',
  INTERNAL: 'ERR_RETS_INTERNAL',
});

module.exports = { RetsError, codes };
