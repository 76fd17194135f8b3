"""Configuration: flags > NAVIGATOR_* environment > TOML > defaults, with errors that
say which value is wrong and where it came from."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from navigator.config import ServerConfig, WorkerConfig, default_data_dir, resolve


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "navigator.toml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    config = resolve(ServerConfig, env={})
    assert (config.host, config.port, config.redis_url, config.device) == (
        "127.0.0.1", 8050, None, "auto")
    assert config.data_dir == Path(platformdirs.user_data_dir("navigator")) == default_data_dir()
    assert config.recording_path == config.data_dir / "recordings.sqlite"
    assert not config.lab_mode and len(config.secret) == 32  # a random per-run secret
    assert config.secret_generated
    assert not resolve(ServerConfig, env={"NAVIGATOR_SECRET": "s3cret"}).secret_generated
    worker = resolve(WorkerConfig, env={})
    assert worker.max_sessions == 1 and worker.checkpoint_dir == worker.data_dir / "checkpoints"


def test_precedence_flag_over_env_over_toml(tmp_path: Path) -> None:
    path = toml(tmp_path, '[server]\nhost = "0.0.0.0"\nport = 9000\ndata_dir = "/srv/nav"\n'
                          '[worker]\nmax_sessions = 3\n')
    from_toml = resolve(ServerConfig, toml_path=path, env={})
    assert (from_toml.host, from_toml.port, from_toml.data_dir) == ("0.0.0.0", 9000,
                                                                     Path("/srv/nav"))
    env = {"NAVIGATOR_PORT": "9100", "NAVIGATOR_DATA_DIR": "~/nav"}
    from_env = resolve(ServerConfig, toml_path=path, env=env)
    assert (from_env.host, from_env.port) == ("0.0.0.0", 9100)
    assert from_env.data_dir == Path("~/nav").expanduser()
    from_flag = resolve(ServerConfig, cli={"port": 9200, "host": None}, toml_path=path, env=env)
    assert (from_flag.host, from_flag.port) == ("0.0.0.0", 9200)  # None means "flag not given"
    assert resolve(WorkerConfig, toml_path=path, env={}).max_sessions == 3


SECRET = "0123456789abcdef0123456789abcdef"  # 32 characters: the shortest a login accepts


def test_lab_mode_takes_redis_and_secret_from_the_environment() -> None:
    env = {"NAVIGATOR_REDIS_URL": "redis://lab:6379/0", "NAVIGATOR_SECRET": SECRET}
    config = resolve(ServerConfig, env=env)
    assert config.lab_mode and config.redis_url == "redis://lab:6379/0"
    assert config.secret == SECRET


@pytest.mark.parametrize("kwargs, source", [
    ({"env": {"NAVIGATOR_REDIS_URL": "redis://lab:6379/0", "NAVIGATOR_SECRET": "q"}},
     "environment NAVIGATOR_SECRET"),
    ({"env": {}, "cli": {"host": "0.0.0.0", "secret": SECRET[:-1]}}, "flag --secret"),
    ({"env": {"NAVIGATOR_AUTH": "password"}, "toml": 'secret = "hunter2"'}, "config file"),
])
def test_a_weak_login_secret_is_refused_naming_its_source(tmp_path: Path, kwargs: dict,
                                                         source: str) -> None:
    if "toml" in kwargs:
        kwargs = {"env": kwargs["env"], "toml_path": toml(tmp_path, f"[server]\n{kwargs['toml']}\n")}
    with pytest.raises(ValueError) as info:
        resolve(ServerConfig, **kwargs)
    message = str(info.value)
    assert message.startswith(source)
    assert ": secret must have at least 32 characters (128 bits) when it protects logins" in message
    assert "openssl rand -hex 32" in message  # how to make one
    secret = (kwargs.get("cli") or {}).get("secret") or kwargs["env"].get("NAVIGATOR_SECRET")
    assert (secret or "hunter2") not in message  # never echoed
    with pytest.raises(ValueError, match="ServerConfig: secret must have at least 32"):
        ServerConfig(auth="password", secret="x")


def test_a_short_secret_is_fine_without_logins() -> None:
    """The embedded default signs no login with it."""
    assert resolve(ServerConfig, env={"NAVIGATOR_SECRET": "s"}).auth == "none"


def test_cookie_secure_is_a_flag_from_any_source(tmp_path: Path) -> None:
    assert resolve(ServerConfig, env={}).cookie_secure is None  # per request: HTTPS or not
    assert resolve(ServerConfig, env={"NAVIGATOR_COOKIE_SECURE": "true"}).cookie_secure is True
    assert resolve(ServerConfig, env={"NAVIGATOR_COOKIE_SECURE": "0"}).cookie_secure is False
    with pytest.raises(ValueError, match="environment NAVIGATOR_COOKIE_SECURE: cookie_secure must "
                                         "be true or false, got 'maybe'"):
        resolve(ServerConfig, env={"NAVIGATOR_COOKIE_SECURE": "maybe"})
    path = toml(tmp_path, '[server]\ncookie_secure = "yes"\n')
    with pytest.raises(ValueError, match=r"\[server\]: cookie_secure must be true or false"):
        resolve(ServerConfig, toml_path=path, env={})


@pytest.mark.parametrize("kwargs, match", [
    ({"cli": {"port": 70000}}, "port must be an integer from 0 to 65535, got 70000"),
    ({"env": {"NAVIGATOR_PORT": "eighty"}},
     "environment NAVIGATOR_PORT: port must be an integer, got 'eighty'"),
    ({"cli": {"device": "tpu"}}, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
    ({"cli": {"redis_url": "http://x"}}, "redis_url must start with redis://"),
    ({"cli": {"redis_url": "redis://x:6379/0"}}, "lab mode .* needs a session secret"),
    ({"cli": {"embedded_workers": -1}}, "embedded_workers must be >= 0"),
    ({"env": {"NAVIGATOR_REDIS_URL": "redis://x:6379/0", "NAVIGATOR_SECRET": "s",
              "NAVIGATOR_AUTH": "none"}}, "lab mode .* needs logins: auth 'none' would let"),
])
def test_bad_server_values_are_explained(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve(ServerConfig, **({"env": {}} | kwargs))


def test_bad_worker_values_are_explained() -> None:
    with pytest.raises(ValueError, match="max_sessions must be a positive integer, got 0"):
        resolve(WorkerConfig, cli={"max_sessions": 0}, env={})
    with pytest.raises(ValueError, match="device must be"):
        resolve(WorkerConfig, env={"NAVIGATOR_DEVICE": "gpu"})


def test_toml_problems_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[server\]: unknown key\(s\) \['prot'\]"):
        resolve(ServerConfig, toml_path=toml(tmp_path, "[server]\nprot = 1\n"), env={})
    with pytest.raises(ValueError, match="is not valid TOML"):
        resolve(ServerConfig, toml_path=toml(tmp_path, "[server\nport = 1\n"), env={})
    with pytest.raises(ValueError, match="does not exist"):
        resolve(ServerConfig, toml_path=tmp_path / "missing.toml", env={})
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        resolve(ServerConfig, toml_path=toml(tmp_path, '[server]\nport = "8050"\n'), env={})


def test_real_environment_is_read_by_default(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("NAVIGATOR_DATA_DIR", str(tmp_path))
    assert resolve(WorkerConfig).data_dir == tmp_path


@pytest.mark.parametrize("line, match", [
    ("host = 5", "host must be a host name or IP address, got 5"),
    ("port = true", "port must be an integer from 0 to 65535, got True"),
    ("data_dir = 5", "data_dir must be a path, got 5"),
    ("users_file = 7", "users_file must be a path, got 7"),
    ("session_hours = inf", "session_hours must be a positive number of hours"),
    ("session_hours = 1e9", r"session_hours .* at most 8760 \(a year\), got 1000000000.0"),
    ("max_sessions_per_user = 1.5", "max_sessions_per_user must be >= 0 .*, got 1.5"),
])
def test_bad_toml_values_name_the_file_and_the_field(tmp_path: Path, line: str,
                                                     match: str) -> None:
    path = toml(tmp_path, f"[server]\n{line}\n")
    with pytest.raises(ValueError, match=f"config file {path} \\[server\\]: {match}"):
        resolve(ServerConfig, toml_path=path, env={})


@pytest.mark.parametrize("kwargs, match", [
    ({"env": {"NAVIGATOR_SESSION_HOURS": "inf"}},
     "environment NAVIGATOR_SESSION_HOURS: session_hours must be a positive number"),
    ({"env": {"NAVIGATOR_SESSION_HOURS": "1e9"}}, "environment NAVIGATOR_SESSION_HOURS: "),
    ({"env": {}, "cli": {"port": True}}, "flag --port: port must be an integer from 0 to 65535"),
    ({"env": {}, "cli": {"data_dir": 5}}, "flag --data-dir: data_dir must be a path, got 5"),
    ({"env": {}, "cli": {"users_file": 7}}, "flag --users-file: users_file must be a path, got 7"),
    ({"env": {}, "cli": {"host": 5}}, "flag --host: host must be a host name or IP address, got 5"),
    ({"env": {}, "cli": {"session_hours": float("inf")}},
     "flag --session-hours: session_hours must be a positive number of hours"),
    ({"env": {}, "cli": {"session_hours": 1e9}}, r"flag --session-hours: session_hours .* at most 8760"),
    ({"env": {}, "cli": {"session_hours": float("nan")}}, "flag --session-hours: session_hours"),
    ({"env": {}, "cli": {"host": ""}}, "flag --host: host must be a host name"),
])
def test_bad_values_name_their_source(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        resolve(ServerConfig, **kwargs)


def test_unknown_toml_keys_list_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\[worker\]: unknown key\(s\) \['devise'\]; "
                                         r"allowed: \['accelerator_type', 'data_dir', 'device', 'file_roots', "):
        resolve(WorkerConfig, toml_path=toml(tmp_path, '[worker]\ndevise = "cpu"\n'), env={})
    with pytest.raises(ValueError, match=r"\[server\] must be a table"):
        resolve(ServerConfig, toml_path=toml(tmp_path, "server = 5\n"), env={})


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        resolve(WorkerConfig, cli={"max_sessions": 0}, env={"NAVIGATOR_LEASE_TTL_S": "inf"})
    lines = str(info.value).splitlines()
    assert lines == ["flag --max-sessions: max_sessions must be a positive integer, got 0",
                     "environment NAVIGATOR_LEASE_TTL_S: lease_ttl_s must be a positive number "
                     "of seconds, got inf"]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="ServerConfig: port must be an integer"):
        ServerConfig(port="8050")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"WorkerConfig: unknown key\(s\) \['sessions'\]"):
        WorkerConfig(sessions=2)  # type: ignore[call-arg]
    assert ServerConfig(data_dir="~/nav").data_dir == Path("~/nav").expanduser()  # type: ignore[arg-type]
    assert WorkerConfig(device="cuda:1").device == "cuda:1"
