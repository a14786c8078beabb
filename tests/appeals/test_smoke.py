from tests.factories import World


def test_world_builds_and_every_state_is_reachable(world: World) -> None:
    for state in ["received", "accepted", "triaged", "rejected", "dispatched", "returned", "acknowledged",
                  "resolved", "followed_up", "merged", "archived"]:
        assert world.appeal(state).state == state
