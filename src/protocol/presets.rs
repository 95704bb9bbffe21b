//! The built-in protocols, each a [`ProtocolSpec`] written from its backend's public description:
//!
//! | name       | backend                                      | token travels as              |
//! |------------|----------------------------------------------|-------------------------------|
//! | `default`  | the reference server in `server/`            | `Authorization: Bearer <t>`   |
//! | `egg`      | the seeds' egg.js + Redis server             | header `token`; logout `{token}` |
//! | `apifm`    | API工厂 (api.it120.cc/{subDomain})           | form field on POST, query on GET |
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
        logout_revokes: true,
        invalid_message: None,
        token: header("Authorization", "Bearer "),
        logout_token: None,
        request_headers: Vec::new(),
    }
}

/// The seeds' egg.js server (seed 000): `POST /api/login {code}` answers the token itself;
/// `POST /api/logout {token}`; a dead token is `ctx.throw(400, '登陆状态已失效')` — on logout and
/// on any request — which egg-onerror answers as JSON `{"message"}` when JSON is accepted and as an
/// HTML page otherwise, so requests say `Accept: application/json` and the message is recognised
/// either way. There is no check endpoint: `checkHasLogined` relies on the token, its expiry and
/// `wx.checkSession`, and the first request answered 登陆状态已失效 re-logs in. The seed shows no
/// route names or token header: `/api/login`, `/api/logout` and header `token` are defaults, each
/// one option away (`protocol.login.path`, `protocol.logout.path`, `protocol.token`).
pub fn egg(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        login: Endpoint::new(Method::Post, "/api/login"),
        token_path: String::new(),
        uid_path: None,
        user_info_path: None,
        expires_in_path: None,
        invalid_statuses: Vec::new(),
        invalid_message: Some((vec![400], "登陆状态已失效".to_owned())),
        check: None,
        check_valid: None,
        logout: Endpoint::new(Method::Post, "/api/logout"),
        logout_invalid_statuses: Vec::new(),
        token: header("token", ""),
        logout_token: Some(TokenPlacement::Body("token".to_owned())),
        request_headers: vec![("Accept".to_owned(), "application/json".to_owned())],
        ..default(base_url)
    }
}

/// Where API工厂's official client (apifm-wxapi, since 26.6.22) sends `user/loginout`: its
/// `COMMON_BASE_URL`, followed by the sub-domain, rather than the API host.
const APIFM_API_ORIGIN: &str = "https://api.it120.cc";
const APIFM_COMMON_ORIGIN: &str = "https://common.apifm.com";

/// API工厂 (apifm-wxapi): `POST /user/wxapp/login` form `{code, type: 2}` → `{code: 0, data:
/// {token, uid}}`, `code 10000` = not registered; `GET /user/check-token?token=` (any `code` but 0
/// means the token is not accepted, as the official template reads it); `GET /user/loginout?token=`
/// on `https://common.apifm.com/<sub-domain>` when `baseUrl` is the documented
/// `https://api.it120.cc/<sub-domain>`; `code 2000` = not logged in. The client sends every request
/// form-encoded, the token as a form field on POST and in the query on GET.
pub fn apifm(base_url: &str) -> ProtocolSpec {
    let logout_path = match base_url.strip_prefix(APIFM_API_ORIGIN) {
        Some(sub_domain) if sub_domain.starts_with('/') => crate::json::join(&[APIFM_COMMON_ORIGIN, sub_domain, "/user/loginout"]),
        _ => "/user/loginout".to_owned(),
    };
    ProtocolSpec {
        format: BodyFormat::Form,
        login: Endpoint::new(Method::Post, "/user/wxapp/login"),
        login_fields: vec![("type".to_owned(), Json::Number(2.0))],
        token_path: "data.token".to_owned(),
        uid_path: Some("data.uid".to_owned()),
        user_info_path: None,
        expires_in_path: None,
        success: Some(FieldMatch::numbers("code", &[0.0])),
        not_registered: Some(FieldMatch::numbers("code", &[10000.0])),
        invalid_statuses: Vec::new(),
        invalid_field: Some(FieldMatch::numbers("code", &[2000.0])),
        check: Some(Endpoint::new(Method::Get, "/user/check-token")),
        check_valid: Some(FieldMatch::numbers("code", &[0.0])),
        logout: Endpoint { method: Method::Get, path: logout_path },
        logout_invalid_statuses: Vec::new(),
        token: TokenPlacement::Body("token".to_owned()),
        request_headers: vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())],
        ..default(base_url)
    }
}

/// litemall (`baseUrl` ends in `/wx`): `POST /auth/login_by_weixin {code, userInfo}` →
/// `{errno: 0, data: {token, userInfo}}` (the `userInfo` the client sent, echoed; no expiry since
/// 2019); every answer is HTTP 200; `errno 501` = not logged in (`401` is a bad argument, not a
/// session matter); the check asks `GET /user/index`; header `X-Litemall-Token`. Its tokens are
/// stateless JWTs (2 hours) that `POST /auth/logout` cannot revoke: logout reports `notRevocable`.
pub fn litemall(base_url: &str) -> ProtocolSpec {
    ProtocolSpec {
        login: Endpoint::new(Method::Post, "/auth/login_by_weixin"),
        // litemall refuses a login without userInfo; WeChat no longer gives one, so an empty object.
        login_fields: vec![("userInfo".to_owned(), Json::Object(Vec::new()))],
        token_path: "data.token".to_owned(),
        uid_path: None,
        user_info_path: Some("data.userInfo".to_owned()),
        expires_in_path: None,
        success: Some(FieldMatch::numbers("errno", &[0.0])),
        invalid_statuses: Vec::new(),
        invalid_field: Some(FieldMatch::numbers("errno", &[501.0])),
        check: Some(Endpoint::new(Method::Get, "/user/index")),
        check_valid: None,
        logout_invalid_statuses: Vec::new(),
        logout_revokes: false,
        token: header("X-Litemall-Token", ""),
        // litemall-wx's request util sends this on every method (wx.request's default, made explicit).
        request_headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
        ..default(base_url)
    }
}
