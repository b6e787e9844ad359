-- Resuming after a crash asks, for every action, for its latest state: index the link from a state
-- change to its action so that stays linear in the journal's size. (An index changes no row, so
-- the hash chain is untouched.)
CREATE INDEX journal_action_seq ON journal (action_seq, seq);
