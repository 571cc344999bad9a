/*
 * Two-phase commit (Gray & Lamport, "Consensus on Transaction Commit"),
 * the TLA+ TwoPhase spec, for comparison with kmodel's example of the same name.
 *
 * One process whose loop takes any enabled action; every action is a single
 * d_step, so each stored state is one state of the TLA+ spec and SPIN's
 * "states, stored" equals the spec's reachable state count
 * (7 RMs: 296,448; 8 RMs: 1,745,408).
 *
 * The number of resource managers is a preprocessor define, 1 to 10:
 *     spin -a -DRMS=8 two_phase_commit.pml
 *
 * The message set is kept as flags: msgPrepared has bit rm set once
 * Prepared(rm) has been sent, msgCommit and msgAbort mark the TM's decisions.
 */

#ifndef RMS
#define RMS 3
#endif

#define ALL ((1 << RMS) - 1)

/* RM states; the TM uses INIT, COMMITTED and ABORTED. */
#define WORKING   0
#define PREPARED  1
#define COMMITTED 2
#define ABORTED   3
#define INIT      0

byte tmState;                /* INIT */
byte rmState[RMS];           /* all WORKING */
unsigned tmPrepared : RMS;   /* RMs whose Prepared message the TM has received */
unsigned msgPrepared : RMS;  /* Prepared(rm) messages in the set */
bit msgCommit;
bit msgAbort;

/* The actions of resource manager i. */
#define RM_ACTIONS(i) \
    :: d_step { tmState == INIT && (msgPrepared & (1 << i)) -> \
           tmPrepared = tmPrepared | (1 << i) } /* TMRcvPrepared(i) */ \
    :: d_step { rmState[i] == WORKING -> \
           rmState[i] = PREPARED; msgPrepared = msgPrepared | (1 << i) } /* RMPrepare(i) */ \
    :: d_step { rmState[i] == WORKING -> rmState[i] = ABORTED } /* RMChooseToAbort(i) */ \
    :: d_step { msgCommit -> rmState[i] = COMMITTED } /* RMRcvCommitMsg(i) */ \
    :: d_step { msgAbort -> rmState[i] = ABORTED } /* RMRcvAbortMsg(i) */

active proctype TwoPhase()
{
    do
    :: d_step { tmState == INIT && tmPrepared == ALL -> tmState = COMMITTED; msgCommit = 1 } /* TMCommit */
    :: d_step { tmState == INIT -> tmState = ABORTED; msgAbort = 1 } /* TMAbort */
    RM_ACTIONS(0)
#if RMS > 1
    RM_ACTIONS(1)
#endif
#if RMS > 2
    RM_ACTIONS(2)
#endif
#if RMS > 3
    RM_ACTIONS(3)
#endif
#if RMS > 4
    RM_ACTIONS(4)
#endif
#if RMS > 5
    RM_ACTIONS(5)
#endif
#if RMS > 6
    RM_ACTIONS(6)
#endif
#if RMS > 7
    RM_ACTIONS(7)
#endif
#if RMS > 8
    RM_ACTIONS(8)
#endif
#if RMS > 9
    RM_ACTIONS(9)
#endif
    od
}
