// Must NOT compile: the option is baseUrl, not baseURL (types.test.js expects TS2561 here).
import * as session from 'wx-session';

session.init({ baseURL: 'https://api.example.com' });
