package host

// SharedTimerSlack is sharedTimerSlack, for the external tests.
const SharedTimerSlack = sharedTimerSlack
