//! The built-in protocols, each a [`ProtocolSpec`] written from its backend's public description:
//!
//! | name       | backend                                      | token travels as              |
//! |------------|----------------------------------------------|-------------------------------|
//! | `default`  | the reference server in `server/`            | `Authorization: Bearer <t>`   |
//! | `egg`      | the seeds' egg.js + Redis server             | header `token`; logout `{token}` |
//! | `apifm`    | API工厂 (api.it120.cc/{subDomain})           | `token` query parameter       |
//! | `litemall` | litemall's `wx` API                          | `X-Litemall-Token: <t>`       |

use super::spec::{BodyFormat, Endpoint, FieldMatch, ProtocolSpec, TokenPlacement};
use crate::json::Json;
use crate::platform::Method;

/// Names accepted by `init({ protocol })`.
pub const NAMES: [&str; 4] = ["default", "egg", "apifm", "litemall"];

/// The built-in protocol called `name` against `base_url`.
pub fn preset(name: &str, base_url: &str) -> Option<ProtocolSpec> {
    let spec = match name {
        "default" => default(base_url),
        "egg" => egg(base_url),
        "apifm" => apifm(base_url),
        "litemall" => litemall(base_url),
        _ => return None,
    };
    Some(spec)
}

fn header(name: &str, prefix: &str) -> TokenPlacement {
    TokenPlacement::Header { name: name.to_owned(), prefix: prefix.to_owned() }
}

/// Ours: `POST /auth/login {code}` → `{token, uid?, userInfo?, expiresIn?}`; `GET /auth/check` →
/// `{valid}` or 401; `POST /auth/logout` → 200/204, 400/401 when already invalid.
pub fn default(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        base_url: base_url.to_owned(),
        format: BodyFormat::Json,
        login: Endpoint::new(Method::Post, "/auth/login"),
        code_field: "code".to_owned(),
        code_in_query: false,
        login_fields: Vec::new(),
        token_path: "token".to_owned(),
        uid_path: Some("uid".to_owned()),
        user_info_path: Some("userInfo".to_owned()),
        expires_in_path: Some("expiresIn".to_owned()),
        success: None,
        not_registered: None,
        invalid_statuses: vec![401],
        invalid_field: None,
        check: Some(Endpoint::new(Method::Get, "/auth/check")),
        check_valid: Some(FieldMatch::boolean("valid", true)),
        logout: Endpoint::new(Method::Post, "/auth/logout"),
        logout_invalid_statuses: vec![400, 401],
        token: header("Authorization", "Bearer "),
        logout_token: None,
    }
}

/// The seeds' egg.js server: `POST /api/login {code}` answers the token itself; `POST /api/logout
/// {token}`; `400 登陆状态已失效` when the token is gone; no check endpoint, so `checkHasLogined`
/// relies on the token, its expiry and `wx.checkSession`, and a request answered 401 re-logs in.
pub fn egg(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        login: Endpoint::new(Method::Post, "/api/login"),
        token_path: String::new(),
        uid_path: None,
        user_info_path: None,
        expires_in_path: None,
        check: None,
        check_valid: None,
        logout: Endpoint::new(Method::Post, "/api/logout"),
        token: header("token", ""),
        logout_token: Some(TokenPlacement::Body("token".to_owned())),
        ..default(base_url)
    }
}

/// API工厂: form-encoded `POST /user/wxapp/login {code, type: 2}` → `{code: 0, data: {token, uid}}`,
/// `code 10000` = not registered; `GET /user/check-token?token=`; `GET /user/loginout?token=`;
/// `code 2000` = not logged in. Every answer is HTTP 200 with a `code`.
pub fn apifm(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        base_url: base_url.to_owned(),
        format: BodyFormat::Form,
        login: Endpoint::new(Method::Post, "/user/wxapp/login"),
        code_field: "code".to_owned(),
        code_in_query: false,
        login_fields: vec![("type".to_owned(), Json::Number(2.0))],
        token_path: "data.token".to_owned(),
        uid_path: Some("data.uid".to_owned()),
        user_info_path: None,
        expires_in_path: None,
        success: Some(FieldMatch::numbers("code", &[0.0])),
        not_registered: Some(FieldMatch::numbers("code", &[10000.0])),
        invalid_statuses: vec![401],
        invalid_field: Some(FieldMatch::numbers("code", &[2000.0])),
        check: Some(Endpoint::new(Method::Get, "/user/check-token")),
        check_valid: Some(FieldMatch::numbers("code", &[0.0])),
        logout: Endpoint::new(Method::Get, "/user/loginout"),
        logout_invalid_statuses: Vec::new(),
        token: TokenPlacement::Query("token".to_owned()),
        logout_token: None,
    }
}

/// litemall (`baseUrl` ends in `/wx`): `POST /auth/login_by_weixin {code, userInfo}` →
/// `{errno: 0, data: {token, tokenExpire, userInfo}}`; `errno 501` = not logged in; the check asks
/// `GET /user/index`; `POST /auth/logout`; header `X-Litemall-Token`.
pub fn litemall(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        base_url: base_url.to_owned(),
        format: BodyFormat::Json,
        login: Endpoint::new(Method::Post, "/auth/login_by_weixin"),
        code_field: "code".to_owned(),
        code_in_query: false,
        // litemall refuses a login without userInfo; WeChat no longer gives one, so an empty object.
        login_fields: vec![("userInfo".to_owned(), Json::Object(Vec::new()))],
        token_path: "data.token".to_owned(),
        uid_path: Some("data.userInfo.userId".to_owned()),
        user_info_path: Some("data.userInfo".to_owned()),
        expires_in_path: None,
        success: Some(FieldMatch::numbers("errno", &[0.0])),
        not_registered: None,
        invalid_statuses: vec![401],
        invalid_field: Some(FieldMatch::numbers("errno", &[501.0])),
        check: Some(Endpoint::new(Method::Get, "/user/index")),
        check_valid: Some(FieldMatch::numbers("errno", &[0.0])),
        logout: Endpoint::new(Method::Post, "/auth/logout"),
        logout_invalid_statuses: Vec::new(),
        token: header("X-Litemall-Token", ""),
        logout_token: None,
    }
}
