#!/usr/bin/env escript
%% Real ETS on the operations `benches/maps.rs` runs on rets (its `ets` and `memory` sections):
%% insert into an empty table, random lookups and update_counter on objects {K, 0, {v, K}} with
%% integer keys, for set and ordered_set (public, read_concurrency and write_concurrency), at the
%% same sizes, with 1 and 2 processes; and memory per object for objects
%% {<<16-byte key>>, <<64-byte value>>} from ets:info(T, memory).
%%
%% Run by ci/bench: `[RETS_BENCH_REPS=N] escript core/benches/ets_bench.escript [--quick]`. Prints one
%% `R<TAB>section<TAB>workload<TAB>table<TAB>size<TAB>procs<TAB>value` line per figure
%% (Mops/s over all processes, median of the repetitions; bytes for memory).

-mode(compile).

main(Args) ->
    Quick = lists:member("--quick", Args),
    {Sizes, Reps0, Ops, MemN} =
        case Quick of
            true -> {[10000, 100000], 1, 100000, 100000};
            false -> {[10000, 1000000], 3, 1000000, 1000000}
        end,
    %% ci/bench runs this in rounds of one repetition, alternating with rets's own.
    Reps = case os:getenv("RETS_BENCH_REPS") of
               false -> Reps0;
               R -> list_to_integer(R)
           end,
    io:format("I\totp\t~s\t~p schedulers\t~s~n",
              [erlang:system_info(otp_release), erlang:system_info(schedulers_online),
               erlang:system_info(system_version) -- "\n"]),
    [memory(Type, MemN) || Type <- [set, ordered_set]],
    [bench(Type, N, Reps, Ops) || Type <- [set, ordered_set], N <- Sizes],
    ok.

new_table(Type) ->
    ets:new(bench, [Type, public, {read_concurrency, true}, {write_concurrency, true}]).

emit(Section, Workload, Type, N, Procs, Value) ->
    io:format("R\t~s\t~s\t~s\t~b\t~b\t~.4f~n", [Section, Workload, Type, N, Procs, Value]).

median(L) -> lists:nth(length(L) div 2 + 1, lists:sort(L)).

%% A stride coprime with N, about 0.618 N: I * S rem N visits 0..N-1 in a scattered order
%% (the same rule as maps.rs).
stride(N) -> stride(N, trunc(N * 0.6180339887) bor 1).
stride(N, S) ->
    case gcd(S, N) of
        1 -> S;
        _ -> stride(N, S + 2)
    end.
gcd(A, 0) -> A;
gcd(A, B) -> gcd(B, A rem B).

%% Runs Work(Setup(ProcIndex)) in Procs processes, one per scheduler: each does its (untimed)
%% setup, then all start together. Returns the time in microseconds from the first start to the
%% last end, each read by the worker itself.
run(Procs, Work) -> run(Procs, fun(P) -> P end, Work).
run(Procs, Setup, Work) ->
    Parent = self(),
    Pids = [spawn_opt(fun() ->
                               State = Setup(P),
                               Parent ! {ready, self()},
                               receive go -> ok end,
                               T0 = erlang:monotonic_time(microsecond),
                               Work(State),
                               T1 = erlang:monotonic_time(microsecond),
                               Parent ! {done, self(), T0, T1}
                       end, [link, {scheduler, P rem erlang:system_info(schedulers_online) + 1}])
            || P <- lists:seq(0, Procs - 1)],
    [receive {ready, Pid} -> ok end || Pid <- Pids],
    [Pid ! go || Pid <- Pids],
    Times = [receive {done, Pid, T0, T1} -> {T0, T1} end || Pid <- Pids],
    lists:max([T1 || {_, T1} <- Times]) - lists:min([T0 || {T0, _} <- Times]).

bench(Type, N, Reps, Ops) ->
    S = stride(N),
    [begin
         %% insert: fresh tables; small sizes repeat the fill until about Ops inserts are timed.
         Rounds = max(1, Ops div N),
         Insert = median([begin
                              Us = lists:sum([insert_round(Type, N, S, Procs)
                                              || _ <- lists:seq(1, Rounds)]),
                              Rounds * N / Us
                          end || _ <- lists:seq(1, Reps)]),
         emit("ets-erl", "insert", Type, N, Procs, Insert)
     end || Procs <- [1, 2]],
    T = new_table(Type),
    insert_range(T, N, S, 0, N),
    [begin
         Lookup = median([Procs * Ops / run(Procs, fun(P) -> lookup_loop(T, N, seed(Rep, P), Ops) end)
                          || Rep <- lists:seq(1, Reps)]),
         emit("ets-erl", "lookup", Type, N, Procs, Lookup),
         Counter = median([Procs * Ops / run(Procs, fun(P) -> counter_loop(T, N, seed(Rep, P), Ops) end)
                           || Rep <- lists:seq(1, Reps)]),
         emit("ets-erl", "update_counter", Type, N, Procs, Counter)
     end || Procs <- [1, 2]],
    ets:delete(T).

insert_round(Type, N, S, Procs) ->
    T = new_table(Type),
    Us = run(Procs, fun(P) -> insert_range(T, N, S, N * P div Procs, N * (P + 1) div Procs) end),
    ets:delete(T),
    Us.

insert_range(_T, _N, _S, End, End) -> ok;
insert_range(T, N, S, I, End) ->
    K = I * S rem N,
    true = ets:insert(T, {K, 0, {v, K}}),
    insert_range(T, N, S, I + 1, End).

%% Random present keys, drawn inline as maps.rs does: a 31-bit LCG, scaled to 0..N-1 by its high
%% bits (a few small-integer operations; no allocation).
seed(Rep, P) -> (Rep * 7919 + P * 104729) band 16#7fffffff.
lcg(X) -> (X * 1103515245 + 12345) band 16#7fffffff.

lookup_loop(_T, _N, _X, 0) -> ok;
lookup_loop(T, N, X0, Left) ->
    X = lcg(X0),
    [_] = ets:lookup(T, (X * N) bsr 31),
    lookup_loop(T, N, X, Left - 1).

counter_loop(_T, _N, _X, 0) -> ok;
counter_loop(T, N, X0, Left) ->
    X = lcg(X0),
    ets:update_counter(T, (X * N) bsr 31, 1),
    counter_loop(T, N, X, Left - 1).

%% Memory per object: N objects {<<16-byte key>>, <<64-byte value>>} (both heap binaries, so
%% stored in the table and counted by ets:info(T, memory)).
memory(Type, N) ->
    T = ets:new(mem, [Type, public]),
    S = stride(N),
    Value = binary:copy(<<16#5a>>, 64),
    [ets:insert(T, {<<(I * S):64, I:64/little>>, Value}) || I <- lists:seq(0, N - 1)],
    N = ets:info(T, size),
    Bytes = ets:info(T, memory) * erlang:system_info(wordsize),
    emit("memory-ets", "info", Type, N, 1, Bytes / N),
    ets:delete(T).
