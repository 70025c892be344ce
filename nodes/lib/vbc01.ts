/**
 * What identifies a VBC01 camera on the wire (vbc01-protocol.md §1): one
 * definition for the config server, the broker's certificate login and the
 * provisioning command.
 */

/** A camera id: 32 hex digits, upper case, no dashes (the real processor ignores any other id in a topic). */
export const VBC01_CAMERA_ID = /^[0-9A-F]{32}$/;

/** The device-type level of a camera's topics: `{prefix}/device/connection/hive-cam/{id}`. */
export const VBC01_DEVICE_TYPE = 'hive-cam';

/** The common name of the client certificate every camera shares (the real platform's `camera_client`). */
export const CAMERA_CLIENT_CN = 'camera_client';
