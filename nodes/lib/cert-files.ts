/**
 * The certificate files `picam-guardian certs` writes (cli/commands/certs.ts) and the
 * camera gateway serves: one name list, so the two cannot drift apart.
 */
export type CertFile = 'caCert' | 'caKey' | 'brokerCert' | 'brokerKey' | 'clientCert' | 'clientKey';

export const CERT_FILE_NAMES: Record<CertFile, string> = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  brokerCert: 'broker.crt',
  brokerKey: 'broker.key',
  clientCert: 'camera.crt',
  clientKey: 'camera.key',
};
