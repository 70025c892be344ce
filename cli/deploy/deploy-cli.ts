/**
 * The command line of picam-guardian deploy | rollback | pull | format-flows (deploy.ts does
 * the work, deploy-many.ts several runtimes at once; docs/deploy.md is the user's guide).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBrokerMode, type BrokerMode } from '../flows/broker-choice';
import { FLOW_ROLES, type FlowRole } from '../flows/flow-file';
import { DeployError, defaultFlowFile, deploy, formatFlows, pull, rollback, type Target } from './deploy';
import { deployToAll, parseUrls, rollbackAll } from './deploy-many';

export const DEPLOY_USAGE = `  picam-guardian deploy <pi|cloud> --url http://host:1880/admin [--user NAME | --token T] [--file flows/x.json]
                       [--dry-run] [--force] [--rev REV] [--state-dir DIR] [--broker embedded|external|amqp]
                       (password in PICAM_DEPLOY_PASSWORD; --broker defaults to PICAM_MQTT_BROKER, amqp with PICAM_ROLE=cluster;
                       several runtimes: --url more than once, or URLs separated by commas, also in PICAM_DEPLOY_URL)
  picam-guardian rollback <pi|cloud> --url URL [--url URL…] [--user NAME | --token T] [--dry-run] [--state-dir DIR]
  picam-guardian pull <pi|cloud> --url URL [--user NAME | --token T] [--file flows/x.json] [--force]
  picam-guardian format-flows [--check] [file.json...]   (default: the package's flows; see docs/deploy.md)`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l), env: process.env };

/** `argv` starts with the command; returns the exit code. Errors are one line on stderr. */
export async function deployCli(argv: string[], io: CliIo = consoleIo): Promise<number> {
  const command = argv[0];
  try {
    const { values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: {
        url: { type: 'string', multiple: true },
        user: { type: 'string' },
        token: { type: 'string' },
        file: { type: 'string' },
        'state-dir': { type: 'string' },
        rev: { type: 'string' },
        force: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        broker: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(`usage:\n${DEPLOY_USAGE}`);
      return 0;
    }
    if (command === 'format-flows') {
      const files = positionals.length > 0 ? positionals.map((f) => resolve(f)) : FLOW_ROLES.map(defaultFlowFile);
      return formatFlows(files, values.check!, io.out);
    }
    const role = positionals[0] as FlowRole | undefined;
    if (!role || !FLOW_ROLES.includes(role)) throw new DeployError(`which flow? ${command} pi|cloud (got "${role ?? ''}")`);
    const urls = parseUrls(values.url ?? (io.env.PICAM_DEPLOY_URL ? [io.env.PICAM_DEPLOY_URL] : []));
    if (urls.length === 0) throw new DeployError('--url is required: the editor address, e.g. http://host:1880/admin');
    const url = urls[0]!;
    const user = values.user ?? io.env.PICAM_DEPLOY_USER;
    const token = values.token ?? io.env.PICAM_DEPLOY_TOKEN;
    const password = io.env.PICAM_DEPLOY_PASSWORD;
    if (user && !token && password === undefined)
      throw new DeployError(`set PICAM_DEPLOY_PASSWORD to the password of "${user}" (the command does not prompt)`);
    const target: Target = { url, role, login: { user, password, token }, log: io.out };
    const stateDir = values['state-dir'] ?? io.env.PICAM_DEPLOY_STATE_DIR;
    if (command === 'deploy') {
      const raw = values.broker ?? io.env.PICAM_MQTT_BROKER;
      // `amqp`: a cluster role runtime (no embedded broker, amqp-ingest on), the default from its env file.
      const broker: BrokerMode = raw === 'amqp' || (!raw && io.env.PICAM_ROLE === 'cluster') ? 'amqp' : parseBrokerMode(raw);
      const o = { ...target, file: values.file, force: values.force, dryRun: values['dry-run'], rev: values.rev, stateDir, broker };
      if (urls.length === 1) await deploy(o);
      else await deployToAll(urls, o, io);
    } else if (command === 'rollback') {
      if (urls.length === 1) await rollback({ ...target, dryRun: values['dry-run'], stateDir });
      else await rollbackAll(urls, { ...target, dryRun: values['dry-run'], stateDir }, io);
    } else if (command === 'pull') {
      if (urls.length > 1) throw new DeployError('pull reads one runtime: give one --url');
      await pull({ ...target, file: values.file, force: values.force });
    } else {
      throw new DeployError(`unknown command "${command}"`);
    }
    return 0;
  } catch (err) {
    io.err(`picam-guardian ${command}: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}`);
    return 1;
  }
}
