import { useState } from 'react';
import { View, Button, Text } from '@tarojs/components';
import session from 'wx-session';

/** 登录 / 退出 with the session; the text shows where it stands. */
export default function Index() {
  const [state, setState] = useState('未登录');
  const login = () =>
    session.login().then(
      (result) => setState(`已登录 ${result.uid}`),
      (error) => setState(`登录失败 ${error.code}`)
    );
  const logout = () => session.logout().then(() => setState('未登录'));
  return (
    <View>
      <Text>{state}</Text>
      <Button onClick={login}>登录</Button>
      <Button onClick={logout}>退出</Button>
    </View>
  );
}
