/**
 * The one catalogue of Concord error codes (DESIGN.md section 3). The first digit of a code is its
 * category; codes, names and statuses are a public contract shared with the original design's clients.
 */
export const ERROR_CATALOGUE = {
  UNAUTHORIZED: { code: 1000, status: 401, title: 'Authentication required' },
  FORBIDDEN: { code: 1001, status: 403, title: 'Forbidden' },
  SESSION_REVOKED: { code: 1002, status: 401, title: 'Session revoked' },
  INVALID_CREDENTIALS: { code: 1003, status: 401, title: 'Invalid credentials' },
  VALIDATION_ERROR: { code: 2000, status: 422, title: 'Validation failed' },
  REQUEST_VALIDATION_ERROR: { code: 2001, status: 400, title: 'Malformed request' },
  PAYLOAD_TOO_LARGE: { code: 2002, status: 413, title: 'Payload too large' },
  METHOD_NOT_ALLOWED: { code: 2003, status: 405, title: 'Method not allowed' },
  UNSUPPORTED_MEDIA_TYPE: { code: 2004, status: 415, title: 'Unsupported media type' },
  HEADERS_TOO_LARGE: { code: 2005, status: 431, title: 'Request headers too large' },
  RESOURCE_NOT_FOUND: { code: 3000, status: 404, title: 'Resource not found' },
  RESOURCE_CONFLICT: { code: 4000, status: 409, title: 'Resource conflict' },
  DUPLICATE_RECORD: { code: 4001, status: 409, title: 'Duplicate record' },
  VERSION_CONFLICT: { code: 4002, status: 412, title: 'Version conflict' },
  PRECONDITION_REQUIRED: { code: 4003, status: 428, title: 'Precondition required' },
  RATE_LIMITED: { code: 5000, status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { code: 8000, status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { code: 8001, status: 503, title: 'Service unavailable' },
} as const;

/** Symbolic error name, e.g. `SESSION_REVOKED`. */
export type ErrorName = keyof typeof ERROR_CATALOGUE;

/** Stable problem `type` URI for an error name: `urn:concord:error:session-revoked`. */
export function problemType(error: ErrorName): string {
  return `urn:concord:error:${error.toLowerCase().replace(/_/g, '-')}`;
}
