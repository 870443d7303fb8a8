'use strict';
// Loads the addon and gives it, once per thread (main or worker), RetsError and the shared
// result area: results that fit are copied there and decoded in place, without an allocation.
const path = require('node:path');
const { RetsError } = require('./errors.js');

const native = require(path.join(__dirname, '..', 'build', 'Release', 'rets.node'));

const AREA_BYTES = 64 * 1024;
const area = Buffer.allocUnsafeSlow(AREA_BYTES);
native.init(RetsError, area);

module.exports = { native, area };
