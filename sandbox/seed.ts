import { Faker, base, en } from '@faker-js/faker';

/**
 * Deterministic sandbox data: the same seed gives the same users, files, messages and
 * events (times are offsets from `now`, so data stays "recent" on any day).
 */
export interface SeedOptions {
  seed?: number;
  users?: number;
  now?: Date;
}

export interface SeedUser {
  id: string;
  email: string;
  name: string;
  created_at: string;
}
export interface SeedFile {
  key: string;
  size: number;
  contentType: string;
  lastModified: Date;
}
export interface SeedMessage {
  msg_id: string;
  from_email: string;
  to_email: string;
  subject: string;
  status: 'processed' | 'delivered' | 'not_delivered';
  opens_count: number;
  clicks_count: number;
  last_event_time: string;
}
export interface SeedBounce {
  email: string;
  created: number;
  reason: string;
  status: string;
}
export interface SeedEvent {
  event: string;
  properties: Record<string, string | number> & { time: number; distinct_id: string; $insert_id: string };
}

export interface SeedData {
  users: SeedUser[];
  files: SeedFile[];
  messages: SeedMessage[];
  bounces: SeedBounce[];
  events: SeedEvent[];
}

const DAY = 86_400_000;
const EVENT_NAMES = ['App Opened', 'Page Viewed', 'File Uploaded', 'File Downloaded', 'Search', 'Signed In', 'Settings Changed'];
const FILE_TYPES: Array<[string, string]> = [
  ['pdf', 'application/pdf'],
  ['png', 'image/png'],
  ['jpg', 'image/jpeg'],
  ['txt', 'text/plain'],
  ['csv', 'text/csv'],
  ['mp4', 'video/mp4'],
  ['docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
];

export function userId(index: number): string {
  return `usr_${String(index + 1).padStart(5, '0')}`;
}

export function generateSeed({ seed = 42, users: userCount = 1200, now = new Date() }: SeedOptions = {}): SeedData {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(seed);
  const nowMs = now.getTime();
  const data: SeedData = { users: [], files: [], messages: [], bounces: [], events: [] };

  for (let i = 0; i < userCount; i++) {
    const id = userId(i);
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    const email = `${firstName}.${lastName}.${i + 1}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, '');
    data.users.push({
      id,
      email,
      name: `${firstName} ${lastName}`,
      created_at: new Date(nowMs - faker.number.int({ min: 30, max: 1000 }) * DAY).toISOString(),
    });

    const fileCount = faker.number.int({ min: 0, max: 24 });
    const names = new Set<string>();
    for (let f = 0; f < fileCount; f++) {
      const [ext, contentType] = faker.helpers.arrayElement(FILE_TYPES);
      const name = `${faker.word.noun()}-${faker.string.alphanumeric(4).toLowerCase()}.${ext}`;
      if (names.has(name)) continue;
      names.add(name);
      data.files.push({
        key: `users/${id}/${name}`,
        size: Math.round(2 ** faker.number.float({ min: 9, max: 22 })),
        contentType,
        lastModified: new Date(nowMs - faker.number.int({ min: 1, max: 365 * 24 }) * 3_600_000),
      });
    }

    const messageCount = faker.number.int({ min: 0, max: 15 });
    for (let m = 0; m < messageCount; m++) {
      const status = faker.helpers.weightedArrayElement([
        { value: 'delivered' as const, weight: 8 },
        { value: 'processed' as const, weight: 1 },
        { value: 'not_delivered' as const, weight: 1 },
      ]);
      const opens = status === 'delivered' ? faker.number.int({ min: 0, max: 5 }) : 0;
      data.messages.push({
        msg_id: faker.string.alphanumeric(22),
        from_email: 'notifications@patchbay.example',
        to_email: email,
        subject: faker.company.catchPhrase(),
        status,
        opens_count: opens,
        clicks_count: opens > 0 ? faker.number.int({ min: 0, max: opens }) : 0,
        last_event_time: new Date(nowMs - faker.number.int({ min: 1, max: 90 * 24 }) * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    }

    if (faker.number.float() < 0.04) {
      data.bounces.push({
        email,
        created: Math.floor((nowMs - faker.number.int({ min: 1, max: 60 }) * DAY) / 1000),
        reason: '550 5.1.1 The email account that you tried to reach does not exist.',
        status: '5.1.1',
      });
    }

    const eventCount = faker.number.int({ min: 0, max: 40 });
    for (let e = 0; e < eventCount; e++) {
      data.events.push({
        event: faker.helpers.arrayElement(EVENT_NAMES),
        properties: {
          // Seconds of the last 30 days (the analytics subgraph's window), at least a minute ago.
          time: Math.floor(nowMs / 1000) - faker.number.int({ min: 60, max: 30 * 86_400 }),
          distinct_id: id,
          $insert_id: faker.string.uuid(),
          platform: faker.helpers.arrayElement(['web', 'ios', 'android']),
        },
      });
    }
  }
  data.messages.sort((a, b) => b.last_event_time.localeCompare(a.last_event_time));
  data.files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  data.events.sort((a, b) => a.properties.time - b.properties.time);
  return data;
}
