import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// The MediaMTX v1.20 OpenAPI (a copy of shared/reference/mediamtx-openapi.yaml kept with the tests), or MEDIAMTX_OPENAPI.
const OPENAPI = process.env.MEDIAMTX_OPENAPI ?? join(__dirname, '..', 'fixtures', 'mediamtx-openapi.yaml');
const CONFIG = join(__dirname, '..', '..', 'cloud', 'mediamtx.yml');

interface Schema {
  type?: string;
  $ref?: string;
  enum?: unknown[];
  items?: Schema;
  allOf?: Schema[];
  deprecated?: boolean;
  properties?: Record<string, Schema>;
}

const openapi = parse(readFileSync(OPENAPI, 'utf8')) as { components: { schemas: Record<string, Schema> } };
const schemas = openapi.components.schemas;
const config = parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>;

function resolve(schema: Schema): Schema {
  if (schema.$ref) return resolve(schemas[schema.$ref.replace('#/components/schemas/', '')]!);
  const ref = schema.allOf?.find((s) => s.$ref);
  return ref ? { ...resolve(ref), ...schema, allOf: undefined } : schema;
}

/** Problems of `value` against `schema`, each prefixed with where it sits. */
function check(where: string, value: unknown, schema: Schema): string[] {
  const s = resolve(schema);
  if (s.enum && !s.enum.includes(value)) return [`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`];
  switch (s.type) {
    case 'boolean':
    case 'string':
      return typeof value === s.type ? [] : [`${where}: expected a ${s.type}, got ${JSON.stringify(value)}`];
    case 'array':
      if (!Array.isArray(value)) return [`${where}: expected a list`];
      return value.flatMap((item, i) => check(`${where}[${i}]`, item, s.items ?? {}));
    case 'object':
      if (typeof value !== 'object' || value === null) return [`${where}: expected a mapping`];
      return checkKeys(where, value as Record<string, unknown>, s);
    default:
      return [];
  }
}

function checkKeys(where: string, values: Record<string, unknown>, schema: Schema): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const property = schema.properties?.[key];
    if (!property) return [`${where}.${key}: no such key`];
    if (property.deprecated) return [`${where}.${key}: deprecated`];
    return check(`${where}.${key}`, value, property);
  });
}

describe('cloud/mediamtx.yml against the MediaMTX v1.20 OpenAPI', () => {
  it('the schema file has the config schemas', () => {
    assert.ok(schemas.GlobalConf?.properties?.authMethod, 'GlobalConf.authMethod');
    assert.ok(schemas.PathConf?.properties?.source, 'PathConf.source');
  });

  it('every top-level key is a current GlobalConf key of the right type', () => {
    const { paths, pathDefaults, ...global } = config;
    assert.deepEqual(checkKeys('global', global, schemas.GlobalConf!), []);
    assert.equal(pathDefaults, undefined, 'pathDefaults: keep MediaMTX defaults, or check them here too');
    assert.ok(paths && typeof paths === 'object');
  });

  it('every path key is a current PathConf key of the right type', () => {
    const paths = config.paths as Record<string, Record<string, unknown>>;
    assert.ok(Object.keys(paths).length > 0);
    for (const [name, path] of Object.entries(paths)) assert.deepEqual(checkKeys(`paths.${name}`, path, schemas.PathConf!), []);
  });

  it('the checker does catch unknown, deprecated and mistyped keys', () => {
    assert.deepEqual(checkKeys('g', { apiAdress: ':1' }, schemas.GlobalConf!), ['g.apiAdress: no such key']);
    assert.deepEqual(checkKeys('g', { hlsDisable: true }, schemas.GlobalConf!), ['g.hlsDisable: deprecated']);
    assert.equal(checkKeys('g', { api: 'yes', authMethod: 'ldap', rtspTransports: ['tcp', 'quic'] }, schemas.GlobalConf!).length, 3);
    assert.equal(checkKeys('g', { authHTTPExclude: [{ action: 'watch' }] }, schemas.GlobalConf!).length, 1);
  });

  it("sends every request, api and metrics included, to the cloud runtime's internal listener, not its public port", () => {
    assert.equal(config.authMethod, 'http');
    assert.equal(config.authHTTPAddress, 'http://127.0.0.1:1881/mediamtx/auth');
    assert.deepEqual(config.authHTTPExclude, []);
  });

  it('listens on the ports the firewall opens', () => {
    assert.equal(config.rtspAddress, ':8554');
    assert.deepEqual(config.rtspTransports, ['tcp']);
    assert.equal(config.webrtcAddress, ':8889');
    assert.equal(config.webrtcLocalUDPAddress, ':8189');
    assert.ok(Array.isArray(config.webrtcAdditionalHosts));
    assert.deepEqual([config.api, config.apiAddress, config.metrics, config.metricsAddress], [true, ':9997', true, ':9998']);
    assert.equal(config.pprof, false);
  });

  it('lets the Pis publish', () => {
    const paths = config.paths as Record<string, Record<string, unknown>>;
    assert.equal(paths.all_others?.source, 'publisher');
  });
});
