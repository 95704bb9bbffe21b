export default defineAppConfig({ pages: ['pages/index/index'], window: { navigationBarTitleText: 'wx-session Taro' } });
