/** A query the client got wrong (400) or about something that does not exist (404); the API answers it as such. */
export class QueryError extends Error {
  constructor(
    readonly statusCode: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}
