/**
 * What the Sense HAT nodes exchange with their hardware backends (i2c, iio,
 * simulated) and send on their wires. Message payloads keep
 * node-red-node-pi-sense-hat's field names and units, so flows written for it
 * work unchanged (shared/reference/sensehat.md).
 */

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/** One environment sample as the chips report it, before any correction. */
export interface EnvironmentSample {
  /** %RH, from the HTS221 */
  humidity: number;
  /** °C, the HTS221's own temperature */
  temperatureFromHumidity: number;
  /** hPa (= millibar), from the LPS25H */
  pressure: number;
  /** °C, the LPS25H's own temperature */
  temperatureFromPressure: number;
}

/** One motion sample in the units of the stock node. */
export interface MotionSample {
  /** g */
  acceleration: Vec3;
  /** rad/s */
  gyroscope: Vec3;
  /** gauss */
  magnetometer: Vec3;
}

/** The v2 board's TCS3400 colour sensor: raw channel counts (0–65535) scaled by the gain and integration time. */
export interface ColourSample {
  red: number;
  green: number;
  blue: number;
  clear: number;
}

export type BackendName = 'i2c' | 'iio' | 'simulated';

/** A source of Sense HAT sensor readings. Every read rejects with an Error that says which chip failed and why. */
export interface SenseBackend {
  readonly name: BackendName;
  /** which streams this backend can give (a board without the colour sensor has no colour) */
  readonly has: { environment: boolean; motion: boolean; colour: boolean };
  readEnvironment(): Promise<EnvironmentSample>;
  readMotion(): Promise<MotionSample>;
  readColour(): Promise<ColourSample>;
  /** °C of the CPU under the board, when the backend knows it better than the thermal zone file (the simulation) */
  readCpuTemperature?(): Promise<number>;
  /** releases the bus, files and timers; safe to call twice */
  close(): Promise<void>;
}

// ------------------------------------------------------------------ I²C

/**
 * The few bus operations the drivers use (a subset of `i2c-bus`'s promisified
 * bus, so the real one plugs in and tests pass a register-level fake).
 */
export interface I2cBus {
  readByte(address: number, register: number): Promise<number>;
  writeByte(address: number, register: number, value: number): Promise<void>;
  /** reads `length` bytes starting at `register` into `buffer` */
  readI2cBlock(address: number, register: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  close(): Promise<void>;
}

/** What each driver offers (hts221.ts, lps25h.ts, lsm9ds1.ts, tcs3400.ts). */
export interface ChipDriver<T> {
  readonly address: number;
  /** configures the chip (and reads what it needs from it, such as calibration) */
  init(): Promise<void>;
  /** true once the first sample after init is in the output registers */
  ready(): Promise<boolean>;
  read(): Promise<T>;
  powerDown(): Promise<void>;
}

/** How the backend finds and names a chip; each driver exports one. */
export interface ChipSpec<T> {
  name: string;
  addresses: readonly number[];
  idRegister: number;
  accepts(id: number): boolean;
  /** the accepted ID, for messages */
  expected: string;
  /** the bits of a register address that name the register (ST chips use the MSB to ask for auto-increment) */
  registerMask: number;
  create(bus: I2cBus, address: number): ChipDriver<T>;
}

// ------------------------------------------------------------------ messages (node outputs)

/** `topic: "environment"` */
export interface EnvironmentPayload {
  /** °C, corrected for the CPU's heat when the correction is on */
  temperature: number;
  /** %RH */
  humidity: number;
  /** hPa (millibar) */
  pressure: number;
  /** °C as the chips measured it (mean of the two sensors), before correction */
  temperatureRaw: number;
  /** °C, the CPU temperature used for the correction (only when it is on) */
  cpuTemperature?: number;
  /** the v2 board's colour sensor, when present */
  colour?: ColourSample;
}

/** `topic: "motion"` */
export interface MotionPayload {
  acceleration: Vec3;
  gyroscope: Vec3;
  /** degrees */
  orientation: { roll: number; pitch: number; yaw: number };
  /** degrees from magnetic north */
  compass: number;
}

export type JoystickKey = 'UP' | 'DOWN' | 'LEFT' | 'RIGHT' | 'ENTER';

/** `topic: "joystick"`: state 0 release, 1 press, 2 held */
export interface JoystickPayload {
  key: JoystickKey;
  state: 0 | 1 | 2;
}
