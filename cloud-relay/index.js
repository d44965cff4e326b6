'use strict';
// The wechat-msg relay cloud function: makes every cloud-call API of the
// spec reachable from a server through POST /tcb/invokecloudfunction.
// Deploy this folder as a cloud function; config.json grants it the APIs.
const { createRelay } = require('./relay');

let relay;

exports.main = async (event) => {
  if (!relay) {
    // Required here, not at the top, so that the logic can be loaded and
    // tested without the SDK installed.
    const cloud = require('wx-server-sdk');
    cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV });
    relay = createRelay(cloud);
  }
  return relay(event);
};
