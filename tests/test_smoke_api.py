from tests.factories import World


def test_meeting_case_lifecycle(app, client, clock):
    world = World(app, client)
    case = world.intake()
    assert case["state"] == "received"
    no = case["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系")
    world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    closed = world.act(no, "close", "dispatcher")
    assert closed["state"] == "closed"
    assert [e["action"] for e in closed["timeline"]] == [
        "intake",
        "dispatch",
        "accept",
        "respond",
        "resolve",
        "callback",
        "close",
    ]
