/**
 * The one place that says where the developer server is, and which protocol it speaks.
 *
 * http://127.0.0.1:8787 is the reference server's development default (`server/`). WeChat DevTools
 * only lets a page call it with 详情 → 本地设置 → 「不校验合法域名、web-view（业务域名）、TLS 版本以及
 * HTTPS 证书」 ticked (project.config.json sets `urlCheck: false`, which is the same switch). A phone
 * needs an https domain registered in the mini-program admin console instead.
 */
'use strict';

module.exports = {
  baseUrl: 'http://127.0.0.1:8787',
  // session.init's protocol: 'default' is the reference server's own. For its litemall dialect
  // (development mode) use baseUrl 'http://127.0.0.1:8787/wx' and protocol 'litemall'.
  protocol: 'default',
  // Whether the server has the account routes (GET/PUT /user/profile, POST /user/avatar,
  // POST /user/phone) the account page edits through — the reference server's default protocol
  // does. false: the account page shows what the login answer said, read-only.
  accountApi: true,
};
