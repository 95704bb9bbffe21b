//! The default protocol, spoken by the reference server in `server/`:
//!
//! - `POST /auth/login {"code"}` → `{"token", "uid"?, "userInfo"?, "expiresIn"?}`
//! - `GET /auth/check` with `Authorization: Bearer <token>` → `{"valid": true}`; 401 when not
//! - `POST /auth/logout` with the same header → 200/204; 400/401 when already invalid
//! - errors: `{"error": {"code", "message"}}`

use super::{endpoint, failure, is_success, json_body, LoginGrant, Revocation, ServerProtocol, TokenStatus};
use crate::error::SessionError;
use crate::json::{object_of_strings, Json};
use crate::platform::{HttpRequest, HttpResponse, LoginCode, Method};
use crate::store::Token;

/// The default protocol against one server.
#[derive(Debug, Clone)]
pub struct DefaultProtocol {
    base_url: String,
}

impl DefaultProtocol {
    /// The protocol against the server at `base_url`.
    pub fn new(base_url: &str) -> DefaultProtocol {
        DefaultProtocol { base_url: base_url.to_owned() }
    }

    fn authorized(&self, method: Method, path: &str, token: &Token) -> HttpRequest {
        HttpRequest {
            method,
            url: endpoint(&self.base_url, path),
            headers: vec![("Authorization".to_owned(), bearer(token))],
            body: None,
        }
    }
}

/// `Bearer <token>`.
pub fn bearer(token: &Token) -> String {
    let mut value = String::from("Bearer ");
    value.push_str(token.as_str());
    value
}

impl ServerProtocol for DefaultProtocol {
    fn login_request(&self, code: &LoginCode) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: endpoint(&self.base_url, "/auth/login"),
            headers: Vec::new(),
            body: Some(object_of_strings(&[("code", &code.0)])),
        }
    }

    fn decode_login(&self, response: &HttpResponse) -> Result<LoginGrant, SessionError> {
        if !is_success(response.status) {
            return Err(failure(response));
        }
        let body = json_body(response)?;
        let bad = |detail: &str| SessionError::BadResponse { status: response.status, detail: detail.to_owned() };
        let token = body.get("token").ok_or_else(|| bad("the answer has no token"))?;
        let token = token.as_str().and_then(Token::parse).ok_or_else(|| bad("the token is not a usable string"))?;
        Ok(LoginGrant {
            token,
            uid: body.get("uid").filter(|u| u.as_id_text().is_some()).cloned(),
            user_info: body.get("userInfo").filter(|u| u.is_object()).cloned(),
            expires_in_s: body.get("expiresIn").and_then(Json::as_u64),
        })
    }

    fn check_request(&self, token: &Token) -> Option<HttpRequest> {
        Some(self.authorized(Method::Get, "/auth/check", token))
    }

    fn decode_check(&self, response: &HttpResponse) -> Result<TokenStatus, SessionError> {
        match response.status {
            401 => Ok(TokenStatus::Invalid),
            status if is_success(status) => match json_body(response)?.get("valid").and_then(Json::as_bool) {
                Some(true) => Ok(TokenStatus::Valid),
                Some(false) => Ok(TokenStatus::Invalid),
                None => Err(SessionError::BadResponse { status, detail: "the answer has no `valid` flag".to_owned() }),
            },
            _ => Err(failure(response)),
        }
    }

    fn logout_request(&self, token: &Token) -> HttpRequest {
        self.authorized(Method::Post, "/auth/logout", token)
    }

    fn decode_logout(&self, response: &HttpResponse) -> Result<Revocation, SessionError> {
        match response.status {
            status if is_success(status) => Ok(Revocation::Revoked),
            400 | 401 => Ok(Revocation::AlreadyInvalid),
            _ => Err(failure(response)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.to_owned() }
    }

    fn protocol() -> DefaultProtocol {
        DefaultProtocol::new("https://api.example.com/")
    }

    #[test]
    fn builds_requests_against_the_base_url() {
        let p = protocol();
        let login = p.login_request(&LoginCode("c\"1".into()));
        assert_eq!(login.url, "https://api.example.com/auth/login");
        assert_eq!(login.body.as_deref(), Some(r#"{"code":"c\"1"}"#));
        let token = Token::parse("abc").unwrap();
        let check = p.check_request(&token).unwrap();
        assert_eq!((check.method, check.url.as_str()), (Method::Get, "https://api.example.com/auth/check"));
        assert_eq!(check.headers, vec![("Authorization".to_owned(), "Bearer abc".to_owned())]);
        assert_eq!(p.logout_request(&token).method, Method::Post);
    }

    #[test]
    fn decodes_a_full_login() {
        let grant = protocol()
            .decode_login(&answer(200, r#"{"token":"t1","uid":7,"userInfo":{"nickName":"小明"},"expiresIn":3600}"#))
            .unwrap();
        assert_eq!(grant.token.as_str(), "t1");
        assert_eq!(grant.uid, Some(Json::Number("7".into())));
        assert_eq!(grant.user_info.unwrap().get("nickName").and_then(Json::as_str), Some("小明"));
        assert_eq!(grant.expires_in_s, Some(3600));
    }

    #[test]
    fn login_failures_have_stable_codes() {
        let p = protocol();
        let code = |status, body: &str| p.decode_login(&answer(status, body)).unwrap_err().code();
        assert_eq!(code(500, "oops"), "SERVER_ERROR");
        assert_eq!(code(400, r#"{"error":{"code":"CODE_USED","message":"code used"}}"#), "SERVER_REJECTED");
        assert_eq!(code(200, "<html>hi</html>"), "BAD_RESPONSE");
        assert_eq!(code(200, "{not json"), "BAD_RESPONSE");
        assert_eq!(code(200, r#"{"uid":1}"#), "BAD_RESPONSE");
        assert_eq!(code(200, r#"{"token":""}"#), "BAD_RESPONSE");
        assert_eq!(code(200, r#"{"token":"has space"}"#), "BAD_RESPONSE");
        assert_eq!(code(302, ""), "BAD_RESPONSE");
        let rejected = p.decode_login(&answer(400, r#"{"error":{"code":"CODE_USED","message":"已使用"}}"#)).unwrap_err();
        assert_eq!(rejected.status(), Some(400));
        assert_eq!(rejected.server_message().and_then(|m| m.message.as_deref()), Some("已使用"));
    }

    #[test]
    fn check_tells_valid_invalid_and_unknown_apart() {
        let p = protocol();
        assert_eq!(p.decode_check(&answer(200, r#"{"valid":true}"#)), Ok(TokenStatus::Valid));
        assert_eq!(p.decode_check(&answer(200, r#"{"valid":false}"#)), Ok(TokenStatus::Invalid));
        assert_eq!(p.decode_check(&answer(401, "")), Ok(TokenStatus::Invalid));
        assert_eq!(p.decode_check(&answer(503, "")).unwrap_err().code(), "SERVER_ERROR");
        assert_eq!(p.decode_check(&answer(200, "<html>")).unwrap_err().code(), "BAD_RESPONSE");
    }

    #[test]
    fn logout_treats_already_invalid_as_confirmed() {
        let p = protocol();
        assert_eq!(p.decode_logout(&answer(204, "")), Ok(Revocation::Revoked));
        assert_eq!(
            p.decode_logout(&answer(400, r#"{"error":{"code":"SESSION_INVALID","message":"登陆状态已失效"}}"#)),
            Ok(Revocation::AlreadyInvalid)
        );
        assert_eq!(p.decode_logout(&answer(502, "<html>")).unwrap_err().code(), "SERVER_ERROR");
    }
}
