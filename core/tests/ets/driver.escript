#!/usr/bin/env escript
%% -*- erlang -*-
%% Runs operation sequences in real ETS for core/tests/ets_conformance.rs.
%%
%% The select family (select, select_reverse, select_count, select_delete, select_replace,
%% match, match_object, match_delete, and chunked selects as the list of their chunks) runs the
%% match specification or pattern given.
%%
%% Input: a file of terms (file:consult/1), one per sequence: {Type, Keypos, [Op]}.
%% Output: for each sequence a line "S <number of ops>", then one line per op: "R <result>" in a
%% prefix notation (I<int> F<float> B<hex> A<atom> T<arity> <elems> L<length> <elems>), or "R X"
%% if the op raised an error.
%%
%% Normalisations (each also documented in docs/FUZZING.md):
%% - bag list insert/insert_new: OTP 25.2 stores the objects of a list in reverse order
%%   (erlang/otp#6730, fixed later); the documented order is the list order, so the list is
%%   reversed before it is handed to ETS, which then stores it in list order.
%% - lookup_element/4 (OTP 26) and update_element/4 (OTP 27) do not exist in OTP 25: they are
%%   emulated from their documentation with member/lookup_element/update_element/insert.
%% - update_element/3 naming the key position or a position below 1: the documented result is
%%   badarg, but OTP returns false when the key is absent; the driver raises badarg then.
%% - update_counter/4 (and the emulated update_element/4) with a default object shorter than
%%   keypos: rets raises badarg whether or not the key exists; OTP 25.2.3 ignores the default
%%   when the key exists and, when it does not, crashes the emulator (at once on an ordered_set;
%%   on a set with an empty op list after storing the malformed object). The driver raises
%%   badarg instead of calling ETS.
-mode(compile).

main([In]) ->
    {ok, Seqs} = file:consult(In),
    lists:foreach(fun run/1, Seqs).

run({Type, KP, Ops}) ->
    T = ets:new(conformance, [Type, public, {keypos, KP}]),
    io:format("S ~b~n", [length(Ops)]),
    lists:foreach(
      fun(Op) ->
              Line = try enc(op(T, Type, KP, Op)) catch error:_ -> "X" end,
              io:format("R ~s~n", [Line])
      end, Ops),
    ets:delete(T).

op(T, _, _, {insert, O}) -> ets:insert(T, O);
op(T, bag, _, {insert_list, L}) -> ets:insert(T, lists:reverse(L));
op(T, _, _, {insert_list, L}) -> ets:insert(T, L);
op(T, _, _, {insert_new, O}) -> ets:insert_new(T, O);
op(T, bag, _, {insert_new_list, L}) -> ets:insert_new(T, lists:reverse(L));
op(T, _, _, {insert_new_list, L}) -> ets:insert_new(T, L);
op(T, _, _, {lookup, K}) -> ets:lookup(T, K);
op(T, _, _, {lookup_element, K, P}) -> ets:lookup_element(T, K, P);
op(_, _, _, {lookup_element_default, _, P, _}) when P < 1 -> error(badarg);
op(T, _, _, {lookup_element_default, K, P, D}) ->
    case ets:member(T, K) of
        true -> ets:lookup_element(T, K, P);
        false -> D
    end;
op(T, _, _, {member, K}) -> ets:member(T, K);
op(T, _, _, {take, K}) -> ets:take(T, K);
op(T, _, _, {delete, K}) -> ets:delete(T, K);
op(T, _, _, {delete_object, O}) -> ets:delete_object(T, O);
op(T, _, _, delete_all_objects) -> ets:delete_all_objects(T);
op(T, _, _, {update_counter, K, A}) -> ets:update_counter(T, K, A);
op(_, _, KP, {Op, _, _, D})
  when (Op =:= update_counter_default orelse Op =:= update_element_default) andalso
       (not is_tuple(D) orelse tuple_size(D) < KP) ->
    %% A default object shorter than keypos: rets rejects it whether or not it is needed.
    %% OTP 25.2.3 checks it only when the key is absent, and then not always: on an ordered_set
    %% the emulator crashes (segfault); on a set with an empty op list it stores the malformed
    %% object and crashes on a later traversal.
    error(badarg);
op(T, _, _, {update_counter_default, K, A, D}) -> ets:update_counter(T, K, A, D);
op(T, _, KP, {update_element, K, A}) ->
    Positions = [P || {P, _} <- if is_list(A) -> A; true -> [A] end],
    case lists:any(fun(P) -> P =:= KP orelse P < 1 end, Positions) andalso
        not ets:member(T, K) of
        %% Documented: badarg when a position is the key or below 1. OTP returns false instead
        %% when the key is absent (it checks positions only on a found object).
        true -> error(badarg);
        false -> ets:update_element(T, K, A)
    end;
op(T, Type, KP, {update_element_default, K, A, D})
  when Type =:= set; Type =:= ordered_set ->
    case ets:member(T, K) of
        true -> ets:update_element(T, K, A);
        false ->
            true = is_tuple(D) andalso tuple_size(D) >= KP,
            Updates = if is_list(A) -> A; true -> [A] end,
            New = lists:foldl(fun({P, V}, O) when P =/= KP -> setelement(P, O, V) end,
                              setelement(KP, D, K), Updates),
            ets:insert(T, New)
    end;
op(_, _, _, {update_element_default, _, _, _}) -> error(badarg);
op(T, _, _, first) -> ets:first(T);
op(T, _, _, last) -> ets:last(T);
op(T, _, _, {next, K}) -> ets:next(T, K);
op(T, _, _, {prev, K}) -> ets:prev(T, K);
op(T, _, _, walk) -> walk(T, ets:first(T), fun ets:next/2);
op(T, _, _, walk_back) -> walk(T, ets:last(T), fun ets:prev/2);
op(T, _, _, tab2list) -> ets:tab2list(T);
op(T, _, _, size) -> ets:info(T, size);
op(T, _, _, {select, S}) -> ets:select(T, S);
op(T, _, _, {select_reverse, S}) -> ets:select_reverse(T, S);
op(T, _, _, {select_count, S}) -> ets:select_count(T, S);
op(T, _, _, {select_delete, S}) -> ets:select_delete(T, S);
op(T, _, _, {select_replace, S}) -> ets:select_replace(T, S);
op(T, _, _, {match, P}) -> ets:match(T, P);
op(T, _, _, {match_object, P}) -> ets:match_object(T, P);
op(T, _, _, {match_delete, P}) -> ets:match_delete(T, P);
op(T, _, _, {select_chunks, S, L, false}) -> chunks(ets:select(T, S, L), fun ets:select/1);
op(T, _, _, {select_chunks, S, L, true}) ->
    chunks(ets:select_reverse(T, S, L), fun ets:select_reverse/1).

%% Every chunk of a chunked select, as a list of lists.
chunks('$end_of_table', _) -> [];
chunks({Results, Cont}, Next) -> [Results | chunks(Next(Cont), Next)].

walk(_, '$end_of_table', _) -> [];
walk(T, K, Step) -> [K | walk(T, Step(T, K), Step)].

enc(X) when is_integer(X) -> ["I", integer_to_list(X)];
enc(X) when is_float(X) -> ["F", float_to_list(X, [short])];
enc(X) when is_binary(X) -> ["B", [io_lib:format("~2.16.0b", [B]) || <<B>> <= X]];
enc(X) when is_atom(X) -> ["A", atom_to_list(X)];
enc(X) when is_tuple(X) ->
    ["T", integer_to_list(tuple_size(X)), [[" ", enc(E)] || E <- tuple_to_list(X)]];
enc(X) when is_list(X) ->
    ["L", integer_to_list(length(X)), [[" ", enc(E)] || E <- X]].
