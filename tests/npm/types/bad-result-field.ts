// Must NOT compile: LoginResult has `token`, not `tokn` (types.test.js expects TS2551 here).
import * as session from 'wx-session';

session.login().then((result) => {
  const token: string = result.tokn;
  return token;
});
