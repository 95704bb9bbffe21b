/**
 * A stand-in for `session.uploadFile` while the built session module has none yet (the library
 * gains it in issue 11; the account page already calls it). Installed only when the module lacks
 * the function, so once the real one ships the tests run against it and this file can go.
 *
 *   installUploadFileStub(sessionModule, wx, baseUrl)   // true when it installed the stand-in
 *
 * It does what the page relies on and nothing more: the token as `Authorization: Bearer`, the
 * loading text, `{ statusCode, data }` with data parsed from JSON, and non-2xx answers rejected
 * with `code`, `status`, `serverCode`, `serverMessage` like request(). No re-login.
 */
'use strict';

function installUploadFileStub(sessionModule, wx, baseUrl) {
  if (typeof sessionModule.uploadFile === 'function') return false;
  sessionModule.uploadFile = function uploadFile(options) {
    const { url, filePath, name, formData, loadingText } = options;
    const token = sessionModule.getToken();
    if (loadingText) wx.showLoading({ title: loadingText, mask: true });
    return new Promise((resolve, reject) => {
      wx.uploadFile({
        url: url.startsWith('/') ? baseUrl + url : url,
        filePath,
        name,
        formData,
        header: token ? { Authorization: `Bearer ${token}` } : {},
        success: (res) => {
          let data = res.data;
          try {
            data = JSON.parse(res.data);
          } catch (err) {
            // not JSON: handed over as the text it was
          }
          if (res.statusCode >= 200 && res.statusCode < 300) return resolve({ statusCode: res.statusCode, data });
          const error = new Error(`upload answered ${res.statusCode}`);
          const serverError = (data && data.error) || {};
          error.code = res.statusCode === 401 ? 'SESSION_INVALID' : res.statusCode >= 500 ? 'SERVER_ERROR' : 'SERVER_REJECTED';
          error.status = res.statusCode;
          error.serverCode = serverError.code;
          error.serverMessage = serverError.message;
          return reject(error);
        },
        fail: (res) => {
          const error = new Error(res.errMsg);
          error.code = 'NETWORK';
          reject(error);
        },
      });
    }).finally(() => {
      if (loadingText) wx.hideLoading();
    });
  };
  return true;
}

module.exports = { installUploadFileStub };
