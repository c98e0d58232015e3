/**
 * The admin page: the health strip, transactions (list and one), topics. Routes are URL hashes
 * (`#/`, `#/tx/<gid>`, `#/topics`); a coordinator that needs a token asks for it first.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { GetHealthResponse } from "../gen/dtx/v1/admin_pb";
import { admin, CHANGED, errorText, needsToken, setToken, token } from "./api";
import { TransactionDetail } from "./detail";
import { HealthStrip } from "./health";
import { TransactionList } from "./list";
import { TopicList } from "./topics";
import "./style.css";

const HEALTH_MS = 5_000;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function TokenForm({ message, onToken }: { message: string; onToken: () => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        onToken();
      }}
    >
      <p>This coordinator needs an admin token (admin.token). {message}</p>
      <input
        name="token"
        type="password"
        autocomplete="off"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        placeholder="admin token"
      />
      <button type="submit">Use token</button>
    </form>
  );
}

function App() {
  const hash = useHash();
  const [health, setHealth] = useState<GetHealthResponse | null>(null);
  // null: no token needed (or the one given works); else why the token form shows
  const [gate, setGate] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  const refused = (err: unknown): boolean => {
    if (!needsToken(err)) return false;
    setGate(token() === "" ? "" : "The token was refused.");
    return true;
  };
  useEffect(() => {
    let stopped = false;
    const load = () =>
      admin.getHealth({}).then(
        (h) => {
          if (stopped) return;
          setHealth(h);
          setGate(null);
        },
        (err: unknown) => {
          if (!stopped && !refused(err)) console.warn(errorText(err));
        },
      );
    void load();
    const timer = setInterval(() => void load(), HEALTH_MS);
    const onChange = () => void load();
    addEventListener(CHANGED, onChange);
    return () => {
      stopped = true;
      clearInterval(timer);
      removeEventListener(CHANGED, onChange);
    };
  }, [generation]);

  const unlock = () => setGeneration(generation + 1);
  const tx = /^#\/tx\/(.+)$/.exec(hash);
  return (
    <>
      <header>
        <h1>
          <a href="#/">dtx</a>
        </h1>
        <nav>
          <a href="#/">transactions</a>
          <a href="#/topics">topics</a>
          {token() !== "" && (
            <a
              href="#/"
              onClick={() => {
                setToken("");
                unlock();
              }}
            >
              forget token
            </a>
          )}
        </nav>
        <HealthStrip health={health} />
      </header>
      <main key={generation}>
        {gate !== null ? (
          <TokenForm message={gate} onToken={unlock} />
        ) : tx ? (
          <TransactionDetail gid={decodeURIComponent(tx[1]!)} onError={refused} />
        ) : hash === "#/topics" ? (
          <TopicList />
        ) : (
          <TransactionList onError={refused} />
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
