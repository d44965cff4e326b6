'use strict';
// The relay's logic, kept apart from wx-server-sdk so that it can be tested
// with a stand-in `cloud` object (see test/relay.test.js).
//
// Event (what the Rust client sends through /tcb/invokecloudfunction):
//   { "api": "customerServiceMessage.send",   // the cloud-call name
//     "data": { ...the request, camelCase... },
//     "files": ["media"] }                      // optional: top-level data keys
//                                               // that are files {contentType, value: base64}
// Return value (the client reads it from resp_data):
//   the API's result, with every Buffer turned into base64 (a binary answer
//   comes back as {contentType, buffer: "<base64>"}), or, when the call
//   throws, { errCode, errMsg } of the error. The relay never throws.

/** errCode of the relay's own failures (unknown API, malformed event). */
const RELAY_REJECTED = -604100;
/** errCode of an error thrown without a numeric errCode. */
const RELAY_FAILED = -604000;

function failure(api, errCode, message) {
  return { errCode, errMsg: `openapi.${api}:fail ${message}` };
}

/** Turns `{contentType, value: base64}` under each key of `files` into a Buffer value. */
function decodeFiles(data, files) {
  const out = { ...data };
  for (const key of files) {
    const file = out[key];
    if (file && typeof file === 'object' && typeof file.value === 'string') {
      out[key] = { ...file, value: Buffer.from(file.value, 'base64') };
    }
  }
  return out;
}

/** A copy of `value` with every Buffer (or Uint8Array) as a base64 string. */
function encodeBuffers(value) {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(encodeBuffers);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = encodeBuffers(item);
    return out;
  }
  return value;
}

/** The relay's handler, calling `cloud.openapi[namespace][method](data)`. */
function createRelay(cloud) {
  return async function relay(event) {
    const api = event && typeof event.api === 'string' ? event.api : '';
    const [namespace, method, ...rest] = api.split('.');
    if (!namespace || !method || rest.length > 0) {
      return failure(api || '(none)', RELAY_REJECTED, 'the event names no API (expected "namespace.method")');
    }
    const group = Object.prototype.hasOwnProperty.call(cloud.openapi || {}, namespace)
      ? cloud.openapi[namespace]
      : undefined;
    const call = group && Object.prototype.hasOwnProperty.call(group, method) ? group[method] : undefined;
    if (typeof call !== 'function') {
      return failure(api, RELAY_REJECTED, 'unknown API');
    }
    const data = event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {};
    const files = Array.isArray(event.files) ? event.files.filter((k) => typeof k === 'string') : [];
    try {
      const result = await call.call(group, decodeFiles(data, files));
      return encodeBuffers(result);
    } catch (err) {
      const errCode = err && Number.isInteger(err.errCode) ? err.errCode : RELAY_FAILED;
      const errMsg = err && typeof err.errMsg === 'string'
        ? err.errMsg
        : `openapi.${api}:fail ${err && err.message ? err.message : String(err)}`;
      return { errCode, errMsg };
    }
  };
}

module.exports = { createRelay, decodeFiles, encodeBuffers, RELAY_REJECTED, RELAY_FAILED };
