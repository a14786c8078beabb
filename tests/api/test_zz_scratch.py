from sudi.appeals import service

def test_c(world, session_factory):
    number = world.appeal("received").number
    first, second = session_factory(), session_factory()
    a2 = service.get_appeal(second, number)
    print("A2", a2.version, a2.state, second.in_transaction())
    service.perform_action(first, world.actor("intake"), number, {"action": "accept"})
    print("A2 after first", a2.version, a2.state, a2 in second, second.in_transaction())
    try:
        r = service.perform_action(second, world.actor("dispatcher"), number, {"action": "reject", "reason": "x"})
        print("NO CONFLICT", r.state, r.version, r is a2)
    except Exception as e:
        print("EXC", type(e))
