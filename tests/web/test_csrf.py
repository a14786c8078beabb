

def test_cookie_authenticated_api_writes_need_the_csrf_header(client, world) -> None:  # type: ignore[no-untyped-def]
    token = world.headers("dispatcher")["Authorization"].split()[1]
    client.cookies.set("sudi_token", token)
    client.cookies.set("sudi_csrf", "x" * 32)
    body = {"title": "路灯不亮", "content": "小区路灯不亮已经一周了"}
    refused = client.post("/api/v1/appeals", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["message_en"].startswith("a cookie-authenticated write")
    allowed = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": "x" * 32})
    assert allowed.status_code == 201
    assert client.get("/api/v1/appeals").status_code == 200  # reads need no token
