'use strict';
// Tests of the relay's logic with a stand-in for wx-server-sdk's `cloud`.
// Run: node --test cloud-relay/test
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');

const { createRelay, RELAY_REJECTED, RELAY_FAILED } = require('../relay');

/** A cloud whose openapi records each call and answers as the SDK does. */
function fakeCloud() {
  const calls = [];
  const cloud = {
    openapi: {
      customerServiceMessage: {
        async send(data) {
          calls.push(['customerServiceMessage.send', data]);
          if (data.touser !== 'OPENID') {
            const err = new Error('invalid openid');
            err.errCode = 40003;
            err.errMsg = 'openapi.customerServiceMessage.send:fail invalid openid rid: 6527c1f2-1a2b';
            throw err;
          }
          return { errCode: 0, errMsg: 'openapi.customerServiceMessage.send:ok' };
        },
        async uploadTempMedia(data) {
          calls.push(['customerServiceMessage.uploadTempMedia', data]);
          return { errCode: 0, errMsg: 'openapi.customerServiceMessage.uploadTempMedia:ok', type: 'image', mediaId: 'MEDIA', createdAt: 1 };
        },
        async getTempMedia(data) {
          calls.push(['customerServiceMessage.getTempMedia', data]);
          return { errCode: 0, errMsg: 'openapi.customerServiceMessage.getTempMedia:ok', contentType: 'image/png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47]) };
        },
        async setTyping() {
          throw new Error('socket hang up');
        },
      },
    },
  };
  return { cloud, calls };
}

test('relays a call and returns its result', async () => {
  const { cloud, calls } = fakeCloud();
  const relay = createRelay(cloud);
  const data = { touser: 'OPENID', msgtype: 'text', text: { content: 'hi' } };
  const result = await relay({ api: 'customerServiceMessage.send', data });
  assert.deepEqual(result, { errCode: 0, errMsg: 'openapi.customerServiceMessage.send:ok' });
  assert.deepEqual(calls, [['customerServiceMessage.send', data]]);
});

test('returns a thrown error as {errCode, errMsg} instead of throwing', async () => {
  const { cloud } = fakeCloud();
  const result = await createRelay(cloud)({ api: 'customerServiceMessage.send', data: { touser: 'NOBODY' } });
  assert.deepEqual(result, {
    errCode: 40003,
    errMsg: 'openapi.customerServiceMessage.send:fail invalid openid rid: 6527c1f2-1a2b',
  });
});

test('an error without errCode gets the relay failure code', async () => {
  const { cloud } = fakeCloud();
  const result = await createRelay(cloud)({ api: 'customerServiceMessage.setTyping', data: {} });
  assert.equal(result.errCode, RELAY_FAILED);
  assert.match(result.errMsg, /^openapi\.customerServiceMessage\.setTyping:fail socket hang up$/);
});

test('decodes base64 files into Buffers', async () => {
  const { cloud, calls } = fakeCloud();
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
  const result = await createRelay(cloud)({
    api: 'customerServiceMessage.uploadTempMedia',
    data: { type: 'image', media: { contentType: 'image/png', value: png.toString('base64') } },
    files: ['media'],
  });
  assert.equal(result.mediaId, 'MEDIA');
  const [, sent] = calls[0];
  assert.equal(sent.type, 'image');
  assert.equal(sent.media.contentType, 'image/png');
  assert.ok(Buffer.isBuffer(sent.media.value));
  assert.deepEqual(sent.media.value, png);
});

test('leaves keys not listed in files alone', async () => {
  const { cloud, calls } = fakeCloud();
  await createRelay(cloud)({
    api: 'customerServiceMessage.uploadTempMedia',
    data: { type: 'image', media: { contentType: 'image/png', value: 'iVBO' } },
  });
  assert.equal(calls[0][1].media.value, 'iVBO');
});

test('turns Buffers in the result into base64', async () => {
  const { cloud } = fakeCloud();
  const result = await createRelay(cloud)({ api: 'customerServiceMessage.getTempMedia', data: { mediaId: 'MEDIA' } });
  assert.deepEqual(result, {
    errCode: 0,
    errMsg: 'openapi.customerServiceMessage.getTempMedia:ok',
    contentType: 'image/png',
    buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'),
  });
  // The result survives the JSON text of resp_data.
  assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
});

test('an unknown API is an error object, not a throw', async () => {
  const { cloud, calls } = fakeCloud();
  const relay = createRelay(cloud);
  for (const api of ['nope.send', 'customerServiceMessage.nope', 'customerServiceMessage', '', 'a.b.c', 'constructor.name', 'customerServiceMessage.__proto__']) {
    const result = await relay({ api, data: {} });
    assert.equal(result.errCode, RELAY_REJECTED, api);
    assert.match(result.errMsg, /:fail /);
  }
  for (const event of [undefined, null, {}, { api: 42 }]) {
    const result = await relay(event);
    assert.equal(result.errCode, RELAY_REJECTED);
  }
  assert.equal(calls.length, 0);
});

test('index.js exports main without loading the SDK', () => {
  const index = require('../index');
  assert.equal(typeof index.main, 'function');
});

test('config.json grants a list of cloud-call names', () => {
  const config = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'config.json'), 'utf8'));
  const apis = config.permissions.openapi;
  assert.ok(Array.isArray(apis) && apis.length > 0);
  for (const api of apis) assert.match(api, /^[a-z][A-Za-z]*\.[a-z][A-Za-z]*$/);
  assert.equal(new Set(apis).size, apis.length);
});
