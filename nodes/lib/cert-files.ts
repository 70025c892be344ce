/**
 * The certificate files `picam-guardian certs` writes (cli/commands/certs.ts) and the
 * camera gateway serves: one name list, so the two cannot drift apart.
 */
export type CertFile =
  'caCert' | 'caKey' | 'brokerCert' | 'brokerKey' | 'configServerCert' | 'configServerKey' | 'clientCert' | 'clientKey';

export const CERT_FILE_NAMES: Record<CertFile, string> = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  brokerCert: 'broker.crt',
  brokerKey: 'broker.key',
  /** the camera config server's HTTPS certificate (hivecam-gateway): the names and addresses cameras dial */
  configServerCert: 'config-server.crt',
  configServerKey: 'config-server.key',
  clientCert: 'camera.crt',
  clientKey: 'camera.key',
};
