// A mini-program page in TypeScript using the npm package (tests/npm/types.test.js compiles it
// with `tsc --strict`, lib es2017, miniprogram-api-typings and no DOM).
//   npm i wx-session → 工具 → 构建 npm → import from 'wx-session'
import * as session from 'wx-session';
import type { ChangeEvent, LoginResult, SessionError } from 'wx-session';

interface IndexData {
  loggedIn: boolean;
  uid: string;
  nickName: string;
  message: string;
}

/** Error codes worth a sentence of their own; the rest get a generic one. */
function describe(error: SessionError): string {
  switch (error.code) {
    case 'NETWORK':
      return '网络不可用，请稍后再试';
    case 'NOT_REGISTERED':
      return '请先注册';
    case 'WX_LOGIN_FAILED':
      return '微信登录失败';
    default:
      return `登录失败（${error.code}）`;
  }
}

Page<IndexData, { onLogin(): Promise<void>; onLogout(): Promise<void> }>({
  data: { loggedIn: false, uid: '', nickName: '', message: '' },

  onLoad() {
    // Usually in app.ts's onLaunch; init is idempotent, so a page may call it too.
    session.init({ baseUrl: 'https://api.example.com', protocol: 'default' }).catch((error: SessionError) => {
      this.setData({ message: describe(error) });
    });
    session.onChange((event: ChangeEvent) => {
      if (event.type !== 'login') this.setData({ loggedIn: false, uid: '', nickName: '' });
    });
  },

  async onShow() {
    try {
      this.setData({ loggedIn: await session.checkHasLogined() });
    } catch (error) {
      this.setData({ message: describe(error as SessionError) });
    }
  },

  async onLogin() {
    try {
      const result: LoginResult = await session.login();
      const nickName = typeof result.userInfo?.nickName === 'string' ? result.userInfo.nickName : '';
      this.setData({ loggedIn: true, uid: String(result.uid ?? ''), nickName });
    } catch (error) {
      this.setData({ message: describe(error as SessionError) });
    }
  },

  async onLogout() {
    const { confirm } = await wx.showModal({ title: '提示', content: '退出登录?' });
    if (!confirm) return;
    const outcome = await session.logout({ reLaunch: '/pages/index/index' });
    if (!outcome.serverConfirmed) console.warn('the server did not confirm the logout:', outcome.server);
  },
});
