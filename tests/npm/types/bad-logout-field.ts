// Must NOT compile: LogoutResult.server is a closed set of strings (types.test.js expects TS2367).
import * as session from 'wx-session';

session.logout().then((outcome) => outcome.server === 'revokd');
